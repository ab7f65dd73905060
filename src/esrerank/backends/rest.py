"""What OpenSearch and Elasticsearch backends share: everything but the vector field and query."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from importlib import resources
from typing import Any

import numpy as np

from ..errors import BackendError, IndexExistsError
from ..types import LegHit, LegHits, Passage
from .analysis import analyzer
from .base import BulkResult, IndexMeta, Shards, rank_hits
from .bulk import bulk_results, write
from .filters import Filter
from .http import HttpClient
from .judgments import EngineJudgments
from .schema import TERMS_FIELD, IndexSchema

META_KEY = "esrerank"
Search = tuple[dict[str, Any], dict[str, Any]]  # one search of an _msearch: header, body
PAGE = 1000
SCROLL = "2m"  # how long a scroll waits for its next page
MSEARCH_QUERIES = 50  # searches per _msearch request
# The search type of every lexical leg: BM25 with the whole index's term statistics rather than
# each shard's own, one extra round to the shards (skipped by the engines on one shard).
WHOLE_INDEX_SCORING = "dfs_query_then_fetch"
# A document's other fields (esrerank.backends.schema) are mapped as the engine sees them, strings
# as keywords: filters test them whole, as the embedded store does.
STRINGS_AS_KEYWORDS = {
    "strings_as_keywords": {
        "match_mapping_type": "string",
        "mapping": {"type": "keyword", "ignore_above": 1024},
    }
}


def load_mapping(engine: str) -> dict[str, Any]:
    """The index definition shipped in ``mappings/<engine>.json``."""
    text = resources.files(__package__).joinpath("mappings", f"{engine}.json").read_text()
    return json.loads(text)


class RestBackend:
    """An index on a cluster, reached over HTTP; subclasses set the vector mapping and query."""

    engine = ""
    dimension_key = ""  # the vector mapping's name for its dimension

    def __init__(self, client: HttpClient, version: str) -> None:
        self.client = client
        self.version = version
        self.location = client.url
        self._schemas: dict[str, IndexSchema] = {}  # index -> where its fields are, read once
        self._writable: set[str] = set()  # indices whose mapping takes a document's own fields

    # -- engine-specific --------------------------------------------------------------------------

    def vector_mapping(self, dimension: int) -> dict[str, Any]:
        """How a vector field of ``dimension`` is mapped (HNSW, cosine)."""
        mapping = load_mapping(self.engine)["mappings"]["properties"]["embedding"]
        mapping[self.dimension_key] = dimension
        return mapping

    def vectors_blocked(self, index: str) -> str | None:
        """Why a vector field cannot be added to ``index`` as it is, or None."""
        return None

    def dense_body(
        self, schema: IndexSchema, vector: list[float], k: int, filter: Filter
    ) -> dict[str, Any]:
        raise NotImplementedError

    # -- index lifecycle -------------------------------------------------------------------------

    def index_exists(self, index: str) -> bool:
        return self.client.exists(f"/{index}")

    def indices(self) -> list[str]:
        """The names of the cluster's indices that hold esrerank's build record (ingested or
        attached), each by the alias a rebuild gave it where it has one."""
        every = "/*,-.*"  # not the engine's own dot indices, which OpenSearch warns about
        built = self.client.request(
            "GET",
            f"{every}/_mapping",
            params={"filter_path": f"*.mappings._meta.{META_KEY}.model"},
        )
        aliases = self.client.request("GET", f"{every}/_alias", params={"filter_path": "*.aliases"})
        names: set[str] = set()
        for concrete in built:
            names.update(aliases.get(concrete, {}).get("aliases") or [concrete])
        return sorted(names)

    def judgments(self, index: str) -> EngineJudgments:
        """The judgments given ``index``'s results, in an index of their own."""
        return EngineJudgments(self.client, index)

    def create_index(self, index: str, meta: IndexMeta, shards: Shards = Shards()) -> None:
        body = load_mapping(self.engine)
        body["settings"]["index"].update(shards.settings())
        body["mappings"]["properties"]["embedding"] = self.vector_mapping(meta.dimension)
        body["mappings"]["_meta"] = {META_KEY: meta.to_dict()}
        body["mappings"]["dynamic_templates"] = [STRINGS_AS_KEYWORDS]
        if meta.analyzer != "standard":
            body["mappings"]["properties"][TERMS_FIELD] = {"type": "text", "analyzer": "whitespace"}
            body["mappings"]["_source"] = {"excludes": [TERMS_FIELD]}
        with contextlib.suppress(IndexExistsError):  # a concurrent ingest created it first
            self.client.request("PUT", f"/{index}", body)
        self.client.request(
            "GET",
            "/_cluster/health/" + index,
            params={"wait_for_status": "yellow", "timeout": "30s"},
        )
        self._schemas[index] = meta.index_schema()
        self._writable.add(index)

    def delete_index(self, index: str) -> None:
        """Delete the index, or when ``index`` is an alias (after a rebuild), the index behind
        it (the engines refuse deleting through an alias)."""
        self.forget(index)
        if self.index_exists(index):
            for concrete in self.concrete(index):
                self.client.request("DELETE", f"/{concrete}")

    def shards(self, index: str) -> Shards:
        """How ``index`` (or the index behind it) is spread over the cluster."""
        answer = self.client.request("GET", f"/{index}/_settings")
        return Shards.of(next(iter(answer.values()))["settings"]["index"])

    def concrete(self, index: str) -> list[str]:
        """The indices ``index`` names: itself, or the ones behind it when it is an alias."""
        return sorted(self.client.request("GET", f"/{index}/_alias"))

    def rebuild(
        self, index: str, meta: IndexMeta, passages: Sequence[Passage], embeddings: np.ndarray
    ) -> BulkResult:
        """Build the index anew beside the old one, then swap it in: in one ``_aliases`` call
        ``index`` becomes an alias of the complete copy and the old index is removed. Until
        then searches use the old one; a failure removes the copy and leaves the old as it was.
        """
        copy = f"{index}-{time.strftime('%Y%m%d%H%M%S')}-{time.perf_counter_ns() % 10**6}"
        self.create_index(copy, meta, self.shards(index))
        try:
            result = self.upsert(copy, passages, embeddings)
            if result.failures:
                first = result.failures[0]
                raise BackendError(
                    f"Rebuilding '{index}' stopped: {len(result.failures)} passages could not be "
                    f"stored in the new copy (first: {first[0]}: {first[1]}); '{index}' is "
                    "unchanged."
                )
            self.refresh(copy)
        except BaseException:
            self.delete_index(copy)
            raise
        actions = [{"add": {"index": copy, "alias": index}}]
        actions += [{"remove_index": {"index": old}} for old in self.concrete(index)]
        self.client.request("POST", "/_aliases", {"actions": actions})
        self.forget(index)
        return result

    def forget(self, index: str) -> None:
        self._schemas.pop(index, None)
        self._writable.discard(index)

    def get_meta(self, index: str) -> IndexMeta:
        meta = self.mappings(index).get("_meta", {}).get(META_KEY)
        if meta is None:
            raise BackendError(
                f"Index '{index}' on {self.location} is not esrerank's: attach it (its "
                "documents stay as they are), or ingest into a new index name."
            )
        return IndexMeta.from_dict(meta)

    def _schema(self, index: str) -> IndexSchema:
        """Where the index keeps each part of a passage, read once."""
        if index not in self._schemas:
            self._schemas[index] = self.get_meta(index).index_schema()
        return self._schemas[index]

    def _client_analyzer(self, index: str):
        """The index's analyze function when BM25 tokens are made here, else None."""
        name = self._schema(index).analyzer
        return None if name == "standard" else analyzer(name)

    def _accept_own_fields(self, index: str) -> None:
        """Let an index created with a strict mapping (before documents kept their other
        fields) take them, mapped as a new index maps them."""
        if index in self._writable:
            return
        mappings = self.mappings(index)
        if mappings.get("dynamic") in ("strict", "false", False):
            self.client.request(
                "PUT",
                f"/{index}/_mapping",
                {"dynamic": True, "dynamic_templates": [STRINGS_AS_KEYWORDS]},
            )
        self._writable.add(index)

    def mappings(self, index: str) -> dict[str, Any]:
        """The index's mapping (of the index behind it, when ``index`` is an alias)."""
        answer = self.client.request("GET", f"/{index}/_mapping")
        return next(iter(answer.values()))["mappings"]

    def put_meta(self, index: str, meta: IndexMeta, properties: dict | None = None) -> None:
        """Store the build record beside whatever else the mapping's ``_meta`` holds (the
        engines replace ``_meta`` whole), with new ``properties`` when given."""
        others = self.mappings(index).get("_meta", {})
        body: dict[str, Any] = {"_meta": {**others, META_KEY: meta.to_dict()}}
        if properties:
            body["properties"] = properties
        self.client.request("PUT", f"/{index}/_mapping", body)
        self.forget(index)

    # -- writes ----------------------------------------------------------------------------------

    def writer(self, index: str) -> AbstractContextManager[None]:
        """No lock: passages are written by id and a document's stale passages deleted by id, so
        two ingests of the same file into one index leave it as one would."""
        return nullcontext()

    def upsert(self, index: str, passages: Sequence[Passage], embeddings: np.ndarray) -> BulkResult:
        """Bulk-index passages by id, in chunks bounded by count and bytes."""
        schema = self._schema(index)
        analyze = self._client_analyzer(index)
        if any(p.fields for p in passages):
            self._accept_own_fields(index)
        actions = []
        for p, vector in zip(passages, np.asarray(embeddings, dtype=np.float32), strict=True):
            source = schema.source(p, vector.tolist())
            if analyze is not None:
                source[schema.match_field] = " ".join(analyze(p.content))
            actions.append(({"index": {"_index": index, "_id": p.passage_id}}, source))
        return write(self.client, actions)

    def delete(self, index: str, passage_ids: Sequence[str]) -> int:
        if not passage_ids:
            return 0
        actions = [({"delete": {"_index": index, "_id": pid}}, None) for pid in passage_ids]
        results = bulk_results(self.client, actions)
        return sum(1 for result in results if result.get("result") == "deleted")

    def update(self, index: str, changes: Sequence[tuple[str, dict[str, Any]]]) -> BulkResult:
        """Set some fields of existing documents (``(id, fields)``), leaving the others."""
        actions = [({"update": {"_index": index, "_id": i}}, {"doc": doc}) for i, doc in changes]
        return write(self.client, actions)

    def refresh(self, index: str) -> None:
        self.client.request("POST", f"/{index}/_refresh")

    # -- reads -----------------------------------------------------------------------------------

    def existing_passages(self, index: str, doc_ids: Sequence[str]) -> dict[str, str]:
        field = self._schema(index).doc_id_field
        hits = self.scan(index, {"terms": {field: list(doc_ids)}}, ["content_hash"])
        return {hit["_id"]: hit["_source"].get("content_hash", "") for hit in hits}

    def doc_ids(self, index: str) -> Iterator[str]:
        """Every stored document's id, once each."""
        seen: set[str] = set()
        field = self._schema(index).doc_id_field
        for hit in self.scan(index, {"match_all": {}}, [field]):
            doc_id = hit["_source"][field]
            if doc_id not in seen:
                seen.add(doc_id)
                yield doc_id

    def passages(self, index: str) -> Iterator[Passage]:
        schema = self._schema(index)
        for hit in self.scan(index, {"match_all": {}}, {"excludes": [schema.vectors]}):
            yield schema.passage(hit["_source"], hit["_id"])

    def scan(self, index: str, query: dict[str, Any], source: Any) -> Iterator[dict[str, Any]]:
        """Every hit of ``query``, a page at a time, through a scroll (the one way through a
        whole index that both engines have and that needs no sortable id field)."""
        body = {"size": PAGE, "query": query, "_source": source, "sort": ["_doc"]}
        answer = self.client.request("POST", f"/{index}/_search", body, params={"scroll": SCROLL})
        scroll_id = answer.get("_scroll_id")
        try:
            while answer["hits"]["hits"]:
                yield from answer["hits"]["hits"]
                answer = self.client.request(
                    "POST", "/_search/scroll", {"scroll": SCROLL, "scroll_id": scroll_id}
                )
                scroll_id = answer.get("_scroll_id", scroll_id)
        finally:
            with contextlib.suppress(BackendError):
                self.client.request("DELETE", "/_search/scroll", {"scroll_id": [scroll_id]})

    def get(self, index: str, passage_ids: Sequence[str]) -> dict[str, Passage]:
        schema = self._schema(index)
        answer = self.client.request(
            "POST",
            f"/{index}/_mget",
            {"ids": list(passage_ids)},
            params={"_source_excludes": schema.vectors},
        )
        return {
            doc["_id"]: schema.passage(doc["_source"], doc["_id"])
            for doc in answer["docs"]
            if doc.get("found")
        }

    def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        """Documents in the index (that match ``query``, when given)."""
        body = {"query": query} if query else None
        return int(self.client.request("POST", f"/{index}/_count", body)["count"])

    def bm25(self, index: str, text: str, k: int, filter: Filter = ()) -> list[LegHit]:
        return self._msearch(index, [self._bm25_search(index, text, k, filter)])[0]

    def dense(self, index: str, vector: np.ndarray, k: int, filter: Filter = ()) -> list[LegHit]:
        return self._msearch(index, [self._dense_search(index, vector, k, filter)])[0]

    def both_legs(
        self, index: str, text: str, vector: np.ndarray, k: int, filter: Filter = ()
    ) -> tuple[list[LegHit], list[LegHit]]:
        """The BM25 and kNN legs of one query in one round trip."""
        bm25, dense = self._msearch(
            index,
            [
                self._bm25_search(index, text, k, filter),
                self._dense_search(index, vector, k, filter),
            ],
        )
        return bm25, dense

    def bm25_many(self, index: str, texts: Sequence[str], k: int) -> list[list[LegHit]]:
        """One BM25 search per text, sent together through ``_msearch``."""
        return self._msearch(index, [self._bm25_search(index, text, k, ()) for text in texts])

    def dense_many(self, index: str, vectors: np.ndarray, k: int) -> list[list[LegHit]]:
        """One kNN search per vector, sent together through ``_msearch``."""
        return self._msearch(index, [self._dense_search(index, row, k, ()) for row in vectors])

    def _bm25_search(self, index: str, text: str, k: int, filter: Filter) -> Search:
        """A ``match`` on the index's BM25 field; with a filter, in a ``bool`` beside it. It
        runs ``dfs_query_then_fetch``: scored with the whole index's term statistics, not each
        shard's own, so the leg's order does not depend on how many primaries the index has
        (benchmarks/shard_quality.py measures both); on one shard the engines skip the extra
        phase."""
        analyze = self._client_analyzer(index)
        terms = text if analyze is None else " ".join(analyze(text))
        query: dict[str, Any] = {"match": {self._schema(index).match_field: terms}}
        if filter:
            query = {"bool": {"must": [query], "filter": list(filter)}}
        return {"search_type": WHOLE_INDEX_SCORING}, {"size": k, "query": query}

    def _dense_search(self, index: str, vector: np.ndarray, k: int, filter: Filter) -> Search:
        return {}, self.dense_body(self._schema(index), _floats(vector), k, filter)

    def _msearch(self, index: str, searches: list[Search]) -> list[list[LegHit]]:
        """Each search's hits: ``searches`` are (header, body) pairs, sent 50 to a request."""
        schema = self._schema(index)
        results: list[list[LegHit]] = []
        for begin in range(0, len(searches), MSEARCH_QUERIES):
            lines: list[dict[str, Any]] = []
            for header, body in searches[begin : begin + MSEARCH_QUERIES]:
                lines += [
                    {"index": index, **header},
                    {**body, "_source": {"excludes": [schema.vectors]}},
                ]
            answer = self.client.request("POST", "/_msearch", ndjson=lines)
            results.extend(
                self._ranked(index, schema, response) for response in answer["responses"]
            )
        return results

    def _ranked(self, index: str, schema: IndexSchema, response: dict[str, Any]) -> list[LegHit]:
        if "error" in response:
            self.client.raise_for_error("POST", f"/{index}/_msearch", response)
        warning = partial_answer(self.engine, index, response)
        hits = response["hits"]["hits"]
        scored = [(schema.passage(hit["_source"], hit["_id"]), hit["_score"]) for hit in hits]
        scored.sort(key=lambda item: (-item[1], item[0].passage_id))
        return LegHits(rank_hits(scored), (warning,) if warning else ())

    def close(self) -> None:
        self.client.close()


def partial_answer(engine: str, index: str, response: dict[str, Any]) -> str | None:
    """Why a search answer is incomplete (shards failed, or it timed out), or None."""
    shards = response.get("_shards") or {}
    failed = int(shards.get("failed") or 0)
    if failed:
        reasons = sorted(
            {
                f"{(f.get('reason') or {}).get('type', 'error')}: "
                f"{(f.get('reason') or {}).get('reason', '')}"
                for f in shards.get("failures") or []
            }
        )
        why = f" ({'; '.join(reasons)[:300]})" if reasons else ""
        return (
            f"{engine} answered from {shards.get('successful', 0)} of {shards.get('total', '?')} "
            f"shards of '{index}'; {failed} failed{why}: the hits may be incomplete."
        )
    if response.get("timed_out"):
        return f"{engine} timed out searching '{index}': the hits may be incomplete."
    return None


def _floats(vector: np.ndarray) -> list[float]:
    return np.asarray(vector, dtype=float).tolist()
