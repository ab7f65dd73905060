"""The ``esrerank`` command group and its entry point: library errors print as one line and
exit 1; bad flags exit 2."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from ..backends.redaction import RedactingFilter
from ..config import load_config
from ..errors import EsrerankError
from .flag_errors import for_command_line


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ESRERANK_CONFIG",
    default=None,
    help="TOML config file [default: ./esrerank.toml, then ~/.config/esrerank/config.toml].",
)
@click.version_option(package_name="esrerank")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, quiet: bool, config_path: Path | None) -> None:
    """Hybrid BM25 + kNN retrieval with cross-encoder reranking, on Elasticsearch, OpenSearch or
    an embedded on-disk store."""
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    quiet_libraries(verbose)
    config = load_config(config_path)
    shared = config.pop("__shared__", {})
    ctx.default_map = {
        name: {**shared, **config.get(name, {})}
        for name in ("ingest", "attach", "query", "serve", "train", "reembed", "eval")
    }
    ctx.obj = {"quiet": quiet}


def quiet_libraries(verbose: bool) -> None:
    """Keep model libraries' logs and progress bars out of the output (read by them when they
    are imported, so nothing is imported here: a query that never needs them starts faster)."""
    if verbose:
        return
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("transformers", "sentence_transformers", "huggingface_hub", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    """Entry point: one line per library error (exit 1), click's usage errors (exit 2)."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort as exc:  # click's name for a KeyboardInterrupt
        click.echo(str(exc.__cause__ or "") or "Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except EsrerankError as exc:
        click.echo(f"error: {for_command_line(exc)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt as exc:
        click.echo(str(exc) or "Interrupted.", err=True)
        sys.exit(130)
    finally:
        # The command has ended and said so; a Ctrl-C now would only interrupt the interpreter
        # closing pooled connections at exit, and print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
