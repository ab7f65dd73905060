"""Engine-shaped error answers: every failure a client sees is one of these, never a traceback.

The body is what Elasticsearch and OpenSearch send (``{"error": {"root_cause": [...], "type",
"reason"}, "status"}``), so clients that read engine errors read esrerank's too.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from ..backends.redaction import redact
from ..errors import (
    AuthenticationError,
    AuthorizationError,
    BackendError,
    ClusterUnreachableError,
    ConfigError,
    EsrerankError,
    IndexNotFoundError,
    InputError,
    ModelError,
    QueryRejectedError,
)

# Library error -> (HTTP status, the engine's error type); the first match wins.
STATUSES: tuple[tuple[type[EsrerankError], int, str], ...] = (
    (IndexNotFoundError, 404, "index_not_found_exception"),
    (AuthenticationError, 502, "cluster_authentication_exception"),
    (AuthorizationError, 502, "cluster_authorization_exception"),
    (ClusterUnreachableError, 503, "cluster_unreachable_exception"),
    (QueryRejectedError, 400, "illegal_argument_exception"),
    (BackendError, 502, "cluster_exception"),
    (InputError, 400, "parse_exception"),
    (ConfigError, 400, "illegal_argument_exception"),
    (ModelError, 503, "model_exception"),
)


class RequestError(Exception):
    """A request esrerank cannot answer, with its status and the engine's error type."""

    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason


def bad_request(reason: str) -> RequestError:
    return RequestError(400, "illegal_argument_exception", reason)


def error_body(status: int, kind: str, reason: str) -> dict:
    """The engines' error body."""
    cause = {"type": kind, "reason": redact(reason)}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def error_response(status: int, kind: str, reason: str, headers: dict | None = None):
    return JSONResponse(error_body(status, kind, reason), status_code=status, headers=headers)


def error_of(exc: RequestError | EsrerankError) -> tuple[int, str, str]:
    """The status, the engine's error type and the reason for an error esrerank raised on
    purpose."""
    if isinstance(exc, RequestError):
        return exc.status, exc.kind, exc.reason
    for kind_of, status, kind in STATUSES:
        if isinstance(exc, kind_of):
            return status, getattr(exc, "engine_kind", "") or kind, str(exc)
    return 500, "exception", str(exc)


def from_library(exc: EsrerankError) -> JSONResponse:
    """The answer for an error esrerank raised on purpose."""
    return error_response(*error_of(exc))
