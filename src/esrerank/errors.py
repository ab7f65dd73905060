"""Errors raised by esrerank.

Every error the library raises on purpose derives from ``EsrerankError`` and carries a one-line
message that says what failed, where, and what to do::

    EsrerankError
    ├── ConfigError          bad settings or option combinations
    ├── InputError           unreadable or malformed corpus files
    ├── ModelError           a model that cannot be found or loaded
    └── BackendError         the search engine or store refused or could not be reached
        ├── ClusterUnreachableError
        ├── AuthenticationError  the cluster refused the credentials (401)
        ├── AuthorizationError   the login lacks a privilege (403)
        ├── IndexNotFoundError
        ├── IndexExistsError     created meanwhile by another client
        ├── IndexMismatchError   the index was built with another model or dimension
        ├── IndexBusyError       another process is writing the embedded index
        ├── QueryRejectedError   the cluster refused a request as malformed (400)
        └── PartialAnswerError   the engine answered from some shards only (``query --strict``)

Messages speak the library's terms: a setting is named by its Python parameter (``top_k``,
``data_dir``, ``bi_encoder``), marked in backticks in the message's ``template`` and listed in
``settings``, so each interface shows them its own way in one place (the command line as flags:
``esrerank.cli.flag_errors``) without rewriting any other word.

An interrupted ingest raises ``IngestInterrupted``, a ``KeyboardInterrupt`` whose message says
what was stored. The library never prints or exits; the CLI renders these as one line and exits
with status 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def named(template: str, settings: Sequence[str], name: Callable[[str], str] = str) -> str:
    """``template`` with each setting it marks (```top_k```, one of ``settings``) written as
    ``name`` gives it: by default its Python name; the command line gives its flag."""
    for setting in settings:
        template = template.replace(f"`{setting}`", name(setting))
    return template


class EsrerankError(Exception):
    """Base class of every error esrerank raises on purpose. Its message marks the settings it
    names in backticks (```top_k` must be at least 1``) and lists them in ``settings``;
    ``str()`` reads with their Python names, and ``template`` keeps the marks for an interface
    that names them its own way."""

    def __init__(self, message: str, *, settings: Sequence[str] = ()) -> None:
        self.template = message
        self.settings = tuple(settings)
        super().__init__(named(message, self.settings))


class ConfigError(EsrerankError):
    """Settings or option combinations that cannot work together."""


class InputError(EsrerankError):
    """A corpus file that is missing, malformed or empty."""


class ModelError(EsrerankError):
    """A model that cannot be found or loaded."""


class BackendError(EsrerankError):
    """The search backend refused a request."""


class ClusterUnreachableError(BackendError):
    """No answer from the cluster URL."""


class AuthenticationError(BackendError):
    """The cluster refused the credentials, or asked for some (HTTP 401)."""


class AuthorizationError(BackendError):
    """The credentials are good but lack a privilege for the request (HTTP 403)."""


class IndexNotFoundError(BackendError):
    """The index does not exist (``index``: its name)."""

    def __init__(self, message: str, *, index: str = "", settings: Sequence[str] = ()) -> None:
        super().__init__(message, settings=settings)
        self.index = index


class IndexMismatchError(BackendError):
    """The index was built with a different embedding model or dimension."""


class IndexBusyError(BackendError):
    """Another process holds the embedded index's write lock."""


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C during an ingest, with what it stored; a ``KeyboardInterrupt`` for callers that
    stop on one."""


class QueryRejectedError(BackendError):
    """The cluster refused a request as malformed (HTTP 400), such as a filter it cannot parse
    (``engine_kind``: the engine's error type)."""

    def __init__(self, message: str, *, engine_kind: str = "", settings: Sequence[str] = ()):
        super().__init__(message, settings=settings)
        self.engine_kind = engine_kind


class PartialAnswerError(BackendError):
    """The engine's answer was incomplete (failed shards, a timeout) and completeness was asked."""


class IndexExistsError(BackendError):
    """The index to create was created meanwhile (another ingest got there first)."""
