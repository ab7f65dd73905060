"""Library errors as the command line shows them: each setting a message names becomes the
flag (and environment variable) that sets it, and a missing index gets the command that
makes it."""

from __future__ import annotations

from ..backends.redaction import redact
from ..errors import EsrerankError, IndexNotFoundError, named

# Parameter name -> how the command line sets it.
FLAGS = {
    "analyzer": "--analyzer",
    "api_key": "--api-key (or ESRERANK_API_KEY)",
    "aws_region": "--aws-region",
    "aws_service": "--aws-service",
    "bearer_token": "--bearer-token (or ESRERANK_BEARER_TOKEN)",
    "ca_certs": "--ca-certs",
    "client_cert": "--client-cert",
    "client_key": "--client-key",
    "cloud_id": "--cloud-id",
    "insecure": "--insecure",
    "password": "--password (or ESRERANK_PASSWORD)",
    "user": "--user",
    "base": "--base",
    "bi_encoder": "--bi-encoder",
    "candidates": "--candidates",
    "chunk_overlap": "--chunk-overlap",
    "chunk_size": "--chunk-size",
    "combination": "--combination",
    "corpus": "--corpus",
    "data_dir": "--data-dir (or ESRERANK_DATA_DIR)",
    "fmt": "--format",
    "id_field": "--id-field",
    "negatives": "--negatives",
    "output": "OUTPUT",
    "passages": "--passages",
    "recreate": "--recreate",
    "reindex": "--reindex",
    "rerank": "--no-rerank",
    "rerank_depth": "--rerank-depth",
    "rerank_weight": "--rerank-weight",
    "reranker": "--reranker",
    "runtime": "--runtime",
    "score_scale": "--score-scale",
    "split": "--split",
    "text_field": "--text-field",
    "title_field": "--title-field",
    "top_k": "--top-k",
    "url": "--url (or ESRERANK_URL)",
    "weights": "--weights",
}


# The settings ingest notes name (esrerank.indexing.corpus_defaults, esrerank.indexing.ingest).
NOTE_SETTINGS = ("analyzer", "bi_encoder", "recreate")


def with_flags(template: str, settings: tuple[str, ...]) -> str:
    """``template`` with the command line's names for the ``settings`` it marks."""
    return named(template, settings, lambda setting: FLAGS.get(setting, setting))


def for_command_line(exc: EsrerankError) -> str:
    """The error's message with the command line's names for the settings it names, and no
    secrets."""
    message = with_flags(redact(exc.template), exc.settings)
    if isinstance(exc, IndexNotFoundError) and exc.index:
        message += f" (esrerank ingest FILE --index {exc.index})"
    return message
