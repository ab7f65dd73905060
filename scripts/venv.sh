# Sourced by quickstart.sh and test.sh: use esrerank's own virtual environment (.venv, or
# $ESRERANK_VENV), created on first use from $PYTHON or the first python3 on the PATH, so pip
# never installs into a system interpreter (current Debian and Ubuntu refuse that:
# "externally-managed-environment"). Where the interpreter has no ensurepip (Debian without
# python3-venv), the environment is made without pip and pip is installed from its wheel on PyPI.
venv="${ESRERANK_VENV:-$PWD/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: esrerank needs Python 3.11 or newer; '$python' is" \
      "$("$python" --version 2>&1 || echo missing). Set PYTHON to a newer interpreter." >&2
    exit 1
  fi
  echo "creating the virtual environment $venv ..." >&2
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    "$python" -m venv --without-pip "$venv"
    "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/bootstrap_pip.py"
  fi
fi
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
