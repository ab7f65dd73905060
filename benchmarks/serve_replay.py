"""The replay suite (tests/data/replay/requests.json: requests as open-source front ends, CMS
backends and RAG frameworks send them) through ``esrerank serve`` and straight to the engine.

Figures: the share of the relevance-ranked text searches (``_search`` bodies and ``_msearch``
items the rules make serve's) that serve answered hybrid, requests answered that the rules give
the engine, and answers whose shape differs from the engine's (top-level keys, each hit's keys
but the explanation and highlight, ``aggregations`` and ``suggest``). Then the latency serve adds
to an answered ``_search`` outside the cross-encoder (its wall time less the rerank stage that
serve reports in ``Server-Timing``) against the engine's own answer to the same body, taking
turns request by request, p50 and p95.

Usage:
    python benchmarks/serve_replay.py ../shared/data/scifact --url http://127.0.0.1:9201 \\
        --documents 2000 --rounds 3 --out benchmarks/results/serve-replay-opensearch
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from pathlib import Path

import requests
from serve_bench import (
    add_common_options,
    command_line,
    environment,
    environment_lines,
    fmt,
    progress,
    served_index,
    summary,
    table,
    write_results,
)

REPLAY = Path(__file__).parents[1] / "tests" / "data" / "replay" / "requests.json"
RERANK_TIMING = re.compile(r"rerank;dur=([0-9.]+)")
FROM_ENGINE = ("aggregations", "suggest", "_shards", "timed_out")  # kept as the engine sent them


SEEDS = random.Random(7)


def seeded(document: dict) -> dict:
    """The facet fields the replayed front ends filter and count on."""
    document["category"] = SEEDS.choice(("biology", "medicine", "physics"))
    document["year"] = SEEDS.randint(1990, 2020)
    document["tags"] = SEEDS.sample(("review", "trial", "cohort"), 1)
    return document


def send(session: requests.Session, base: str, index: str, entry: dict) -> requests.Response:
    if entry["endpoint"] == "_msearch":
        lines = []
        for header, body in entry["items"]:
            lines += [json.dumps({k: index if v == "INDEX" else v for k, v in header.items()})]
            lines += [json.dumps(body)]
        return session.post(
            f"{base}/{index}/_msearch",
            params=entry["params"],
            data="\n".join(lines) + "\n",
            headers={"content-type": "application/x-ndjson"},
            timeout=300,
        )
    return session.post(
        f"{base}/{index}/_search", params=entry["params"], json=entry["body"], timeout=300
    )


def untimed(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "took"}


def same_shape(mine: dict, theirs: dict) -> bool:
    """Whether serve's answer has the engine's shape: the same top-level keys, the same
    ``aggregations`` and ``suggest``, and hits with the keys the engine's hits have (not
    judged when the engine found no hit: tests/integration/test_serve_replay.py asks the engine
    for each such hit by id)."""
    if set(mine) != set(theirs) or any(mine.get(k) != theirs.get(k) for k in FROM_ENGINE):
        return False
    engine_keys = {hit_keys(h) for h in (theirs.get("hits") or {}).get("hits") or []}
    served = {hit_keys(h) for h in (mine.get("hits") or {}).get("hits") or []}
    return not engine_keys or served <= engine_keys


def hit_keys(hit: dict) -> frozenset:
    return frozenset(set(hit) - {"_explanation", "highlight"})


def replay(base: str, engine: str, index: str, entries: list[dict]) -> dict:
    """Each entry once through each side: which were answered, and any shape that differs."""
    counts = {"relevance": 0, "answered": 0, "answered_wrongly": 0, "shape_differs": 0}
    differing: list[str] = []
    with requests.Session() as session:
        for entry in entries:
            through, direct = send(session, base, index, entry), send(session, engine, index, entry)
            if through.status_code != 200 or direct.status_code != 200:
                raise SystemExit(f"{entry['name']}: {through.status_code} / {direct.status_code}")
            if entry["endpoint"] == "_search":
                pairs = [(entry["expect"], through.json(), direct.json())]
                answered = ["x-esrerank-mode" in through.headers]
            else:
                mine, theirs = through.json()["responses"], direct.json()["responses"]
                pairs = list(zip(entry["expect"], mine, theirs, strict=True))
                done, _ = through.headers["x-esrerank-answered"].split("/")
                # which items serve answered: as many as it says, the ones it changed
                answered = [untimed(m) != untimed(t) for _, m, t in pairs]
                if sum(answered) > int(done):
                    raise SystemExit(f"{entry['name']}: more items changed than answered")
            for (expect, mine, theirs), done in zip(pairs, answered, strict=True):
                counts["relevance"] += expect == "hybrid"
                counts["answered"] += done and expect == "hybrid"
                counts["answered_wrongly"] += done and expect != "hybrid"
                if done and not same_shape(mine, theirs):
                    counts["shape_differs"] += 1
                    differing.append(entry["name"])
    return {**counts, "differing": differing}


def latency(base: str, engine: str, index: str, entries: list[dict], rounds: int) -> dict:
    """Each answered ``_search`` ``rounds`` times per side, taking turns: milliseconds."""
    searches = [e for e in entries if e["endpoint"] == "_search" and e["expect"] == "hybrid"]
    direct, added = [], []
    with requests.Session() as session:
        for turn in range(rounds):
            for number, entry in enumerate(searches):
                sides = ["engine", "serve"] if (turn + number) % 2 == 0 else ["serve", "engine"]
                for side in sides:
                    started = time.perf_counter()
                    answer = send(session, base if side == "serve" else engine, index, entry)
                    seconds = time.perf_counter() - started
                    if side == "engine":
                        direct.append(seconds)
                        continue
                    rerank = RERANK_TIMING.search(answer.headers.get("server-timing", ""))
                    added.append(seconds - (float(rerank.group(1)) / 1000 if rerank else 0.0))
            progress(f"latency: round {turn + 1}/{rounds}")
    return {
        "engine": summary(direct),
        "serve_outside_rerank": summary(added),
        "searches": len(searches),
    }


def render(result: dict, env: dict) -> list[str]:
    counts, timing = result["replay"], result["latency"]
    share = counts["answered"] / counts["relevance"] if counts["relevance"] else 0.0
    engine, serve = timing["engine"], timing["serve_outside_rerank"]
    return [
        "# esrerank serve on the replay suite",
        "",
        f"{result['entries']} requests (tests/data/replay/requests.json) against the first "
        f"{result['documents']} documents of {result['data']}, each sent through serve and "
        "straight to the engine.",
        "",
        f"- Relevance-ranked text searches (`_search` bodies and `_msearch` items): "
        f"{counts['relevance']}; answered hybrid by serve: {counts['answered']} "
        f"(**{share:.0%}**, goal >= 90%).",
        f"- Answered though the rules give them to the engine: {counts['answered_wrongly']}.",
        f"- Answers whose shape differs from the engine's: **{counts['shape_differs']}** "
        f"{counts['differing'] or ''}",
        "",
        f"Latency of the {timing['searches']} answered `_search` bodies, {result['rounds']} "
        "rounds, taking turns: the engine's own answer against serve's outside the "
        "cross-encoder (wall time less the `rerank` stage of `Server-Timing`: the engine's "
        "widened lexical leg, the embedding and kNN leg, fusion, the fetch of dense-only hits "
        "and the rebuilt JSON). Milliseconds.",
        "",
        *table(
            ["side", "p50", "p95", "mean"],
            [
                ["engine, direct", fmt(engine["p50"]), fmt(engine["p95"]), fmt(engine["mean"])],
                [
                    "serve, outside the cross-encoder",
                    fmt(serve["p50"]),
                    fmt(serve["p95"]),
                    fmt(serve["mean"]),
                ],
                [
                    "added by serve",
                    fmt(serve["p50"] - engine["p50"]),
                    fmt(serve["p95"] - engine["p95"]),
                    fmt(serve["mean"] - engine["mean"]),
                ],
            ],
        ),
        "",
        *environment_lines(env),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser, "benchmarks/results/serve-replay-opensearch")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds per search [3]")
    args = parser.parse_args()
    entries = json.loads(REPLAY.read_text())
    with served_index(args, seed=seeded) as (index, server):
        progress(f"replaying {len(entries)} requests")
        counts = replay(server.base, args.url, index.name, entries)
        timing = latency(server.base, args.url, index.name, entries, args.rounds)
        env = environment(server)
    result = {
        "command": command_line(),
        "environment": env,
        "data": str(args.data),
        "documents": index.ingested,
        "entries": len(entries),
        "rounds": args.rounds,
        "replay": counts,
        "latency": timing,
    }
    write_results(args.out, render(result, env), result)


if __name__ == "__main__":
    main()
