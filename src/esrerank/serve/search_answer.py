"""A hybrid search of the embedded store in the engines' ``_search`` answer shape, so unchanged
clients read it: each document once, at its best passage, paged with ``from`` / ``size``. (On a
cluster the answer is the engine's own, reordered: ``esrerank.serve.reordered``.)"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import Any

from ..backends.schema import IndexSchema
from ..search.pipeline import SearchResult
from ..types import Hit
from .search_dsl import HybridSearch


def engine_answer(
    index: str,
    result: SearchResult,
    search: HybridSearch,
    schema: IndexSchema,
    took_ms: int,
    explain: bool,
) -> dict[str, Any]:
    best: dict[str, Hit] = {}
    for hit in result.hits:
        best.setdefault(hit.doc_id, hit)
    documents = list(best.values())
    page = documents[search.start : search.start + search.size]
    hits = []
    for hit in page:
        entry: dict[str, Any] = {"_index": index, "_id": hit.doc_id, "_score": hit.final.score}
        source = selected(document_source(hit, schema), search.source)
        if source is not None:
            entry["_source"] = source
        if explain:
            entry["_esrerank"] = {
                "passage_id": hit.passage_id,
                "passage": hit.text,
                **hit.to_dict(),
            }
        hits.append(entry)
    found: dict[str, Any] = {"max_score": hits[0]["_score"] if hits else None, "hits": hits}
    if search.track_total_hits is not False:
        found = {"total": {"value": len(documents), "relation": "eq"}, **found}
    answer = {
        "took": took_ms,
        "timed_out": False,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": found,
    }
    # how the hits were ordered: always whether they were reranked and if not why, all with explain
    answer["esrerank"] = (
        result.to_dict()
        if explain
        else {"reranked": result.reranked, "rerank_reason": result.rerank_reason}
    )
    return answer


def document_source(hit: Hit, schema: IndexSchema) -> dict[str, Any]:
    """The stored document as the application wrote it (an attached index), or the passage's
    title, text and kept fields (an index esrerank built)."""
    source: dict[str, Any] = dict(hit.passage.fields)
    if schema.title_field and hit.title:
        source[schema.title_field] = hit.title
    source[schema.text_field] = hit.text
    return source


def selected(source: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    """``_source`` filtering as the engines do it on top-level fields: false, a pattern or a
    list of them, or ``{includes, excludes}``."""
    if spec is False:
        return None
    if spec is True or spec is None:
        return source
    includes, excludes = spec, []
    if isinstance(spec, dict):
        includes, excludes = spec.get("includes", []), spec.get("excludes", [])
    includes = [includes] if isinstance(includes, str) else list(includes)
    excludes = [excludes] if isinstance(excludes, str) else list(excludes)
    return {
        name: value
        for name, value in source.items()
        if (not includes or any(fnmatch(name, p) for p in includes))
        and not any(fnmatch(name, p) for p in excludes)
    }
