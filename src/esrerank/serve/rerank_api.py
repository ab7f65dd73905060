"""The rerank and embed APIs that connectors, LangChain / LlamaIndex rerankers and the engines'
own rerank processors speak: Cohere's ``/v1/rerank`` and ``/v2/rerank``, and Text Embeddings
Inference's ``/rerank`` and ``/embed``. Parsing is checked here, field by field, so a bad
request is a 400 that names the field."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .responses import bad_request

MAX_DOCUMENTS = 1000  # documents one rerank request may carry
MAX_TEXT = 100_000  # characters of one query or document


@dataclass(frozen=True)
class RerankRequest:
    query: str
    documents: tuple[str, ...]
    top_n: int | None
    return_documents: bool


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"[{field}] must be a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise bad_request(f"[{field}] is longer than {MAX_TEXT} characters")
    return value


def _texts(value: Any, field: str) -> tuple[str, ...]:
    """A list of strings, or (Cohere) of ``{"text": ...}`` objects."""
    if not isinstance(value, list):
        raise bad_request(f"[{field}] must be a list of strings")
    if len(value) > MAX_DOCUMENTS:
        raise bad_request(f"[{field}] holds {len(value)} entries; at most {MAX_DOCUMENTS}")
    texts = []
    for number, item in enumerate(value):
        if isinstance(item, dict):
            item = item.get("text")
        texts.append(_text(item, f"{field}.{number}"))
    return tuple(texts)


def _body(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise bad_request("the request body must be a JSON object")
    return payload


def cohere_request(payload: Any) -> RerankRequest:
    """``{query, documents, top_n?, return_documents?}`` (``model`` and the rest ignored)."""
    body = _body(payload)
    for field in ("query", "documents"):
        if field not in body:
            raise bad_request(f"[{field}] is missing")
    top_n = body.get("top_n")
    if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 1):
        raise bad_request("[top_n] must be a positive integer")
    return RerankRequest(
        query=_text(body["query"], "query"),
        documents=_texts(body["documents"], "documents"),
        top_n=top_n,
        return_documents=bool(body.get("return_documents", False)),
    )


def tei_request(payload: Any) -> RerankRequest:
    """Text Embeddings Inference's ``{query, texts, return_text?}``."""
    body = _body(payload)
    for field in ("query", "texts"):
        if field not in body:
            raise bad_request(f"[{field}] is missing")
    return RerankRequest(
        query=_text(body["query"], "query"),
        documents=_texts(body["texts"], "texts"),
        top_n=None,
        return_documents=bool(body.get("return_text", False)),
    )


@dataclass(frozen=True)
class EmbedRequest:
    texts: tuple[str, ...]
    passages: bool  # embedded as passages are at ingest, else as queries are


# TEI's ``prompt_name`` picks a side of the bi-encoder (an e5 model's "query: " / "passage: ").
PROMPT_NAMES = {"query": False, "passage": True, "document": True}


def embed_request(payload: Any) -> EmbedRequest:
    """TEI's ``{inputs: str | [str], prompt_name?}``: the query side unless ``prompt_name``
    says ``passage`` (or ``document``), as an ingest pipeline embedding documents does."""
    body = _body(payload)
    if "inputs" not in body:
        raise bad_request("[inputs] is missing")
    inputs = body["inputs"]
    texts = (_text(inputs, "inputs"),) if isinstance(inputs, str) else _texts(inputs, "inputs")
    name = body.get("prompt_name") or "query"
    if name not in PROMPT_NAMES:
        raise bad_request(f"[prompt_name] must be one of {', '.join(PROMPT_NAMES)}, got [{name}]")
    return EmbedRequest(texts, PROMPT_NAMES[name])


def ranked(request: RerankRequest, scores: Sequence[float]) -> list[tuple[int, float]]:
    """``(index, score)`` best first (ties by index), cut to ``top_n``. Scores keep the 9
    significant digits a float32 holds: ml-commons reads a number written with over 18
    characters as a BigDecimal, which its Cohere post-process function fails to cast."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [(i, float(f"{scores[i]:.9g}")) for i in order[: request.top_n or len(order)]]


def cohere_answer(request: RerankRequest, scores: Sequence[float], version: str) -> dict:
    results = []
    for index, score in ranked(request, scores):
        result: dict[str, Any] = {"index": index, "relevance_score": score}
        if request.return_documents:
            result["document"] = {"text": request.documents[index]}
        results.append(result)
    return {
        "id": str(uuid.uuid4()),
        "results": results,
        "meta": {"api_version": {"version": version}, "billed_units": {"search_units": 1}},
    }


def tei_answer(request: RerankRequest, scores: Sequence[float]) -> list[dict]:
    answer = []
    for index, score in ranked(request, scores):
        item: dict[str, Any] = {"index": index, "score": score}
        if request.return_documents:
            item["text"] = request.documents[index]
        answer.append(item)
    return answer
