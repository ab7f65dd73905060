"""A data node of a three-node cluster killed (SIGKILL) during an ingest, an attach and a stream of
reranked searches through ``esrerank serve``: what was lost or doubled, what clients saw, and how
long the cluster took to be green again.

Each index has 3 primaries and 1 replica; the node killed is the third (esrerank and serve talk
to the first). The ingest's passages after a run again are compared, id by id and content hash
by content hash, with a clean ingest of the same corpus into the embedded store; the attach's
documents are counted with a current vector. Start the clusters first, with the same
``ESRERANK_*`` settings this script's ``scripts/engines.sh`` calls will see:

    scripts/engines.sh start opensearch-cluster
    python benchmarks/node_loss.py ../shared/data/scifact --engine opensearch \\
        --url http://127.0.0.1:9221 --out benchmarks/results/node-loss-opensearch
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from report import write_report

from esrerank.backends import open_backend

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is the repository's
SPREAD = ("--shards", "3", "--replicas", "1")

from cluster_throughput import wait_ready  # noqa: E402

from tests.integration.served import free_port  # noqa: E402
from tests.integration.test_node_loss import node, seconds_to_green  # noqa: E402


def environment(data_dir: Path, url: str) -> dict[str, str]:
    env = {**os.environ, "ESRERANK_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env["ESRERANK_URL"] = url
    return env


def esrerank(data_dir: Path, url: str, *arguments: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "esrerank", *arguments, "--no-progress"]
    return subprocess.Popen(
        command,
        env=environment(data_dir, url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> dict:
    """How a run ended: its exit status and its last line (the summary or the error)."""
    out, err = process.communicate(timeout=1800)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    return {
        "exit": process.returncode,
        "last_line": lines[-1] if lines else "",
        "traceback": "Traceback" in err,
    }


def killed_under(args, running: subprocess.Popen) -> dict:
    """Kill the node under a run, let the run end, start the node again: how the run ended,
    how long after the kill, and how long the cluster took to be green again."""
    killed_at = time.monotonic()
    node("kill", args.engine)
    outcome = finished(running)
    outcome["seconds_after_kill"] = round(time.monotonic() - killed_at, 1)
    node("start", args.engine)
    outcome["seconds_to_green"] = round(seconds_to_green(args.url), 1)
    return outcome


def stored(backend, index: str) -> dict[str, str]:
    backend.refresh(index)
    return {p.passage_id: p.content_hash for p in backend.passages(index)}


def ingest_run(args, folder: Path, corpus: Path) -> dict:
    clean = esrerank(folder / "clean", "", "ingest", str(corpus), "--index", "clean")
    if finished(clean)["exit"] != 0:
        raise RuntimeError("the clean ingest failed")
    expected = stored(open_backend(None, folder / "clean"), "clean")
    backend = open_backend(args.url, folder / "store")
    index = "node-loss-ingest"
    backend.delete_index(index)
    running = esrerank(folder / "store", args.url, "ingest", str(corpus), "--index", index, *SPREAD)
    while running.poll() is None and not (backend.index_exists(index) and backend.count(index)):
        time.sleep(0.05)
    outcome = killed_under(args, running)
    again = finished(esrerank(folder / "store", args.url, "ingest", str(corpus), "--index", index))
    got = stored(backend, index)
    backend.refresh(index)
    result = {
        "passages_expected": len(expected),
        "first_run": outcome,
        "run_again": again,
        "lost": len(expected.keys() - got.keys()),
        "extra": len(got.keys() - expected.keys()),
        "changed": sum(1 for key in expected.keys() & got.keys() if expected[key] != got[key]),
        "duplicated": backend.count(index) - len(got),
    }
    backend.delete_index(index)
    return result


def attach_run(args, folder: Path, documents: list[dict]) -> dict:
    backend = open_backend(args.url, folder / "store")
    index = "node-loss-attach"
    backend.delete_index(index)
    settings: dict = {"number_of_shards": 3, "number_of_replicas": 1}
    if args.engine == "opensearch":
        settings["knn"] = True
    mapping = {"properties": {"title": {"type": "text"}, "text": {"type": "text"}}}
    body = {"settings": {"index": settings}, "mappings": mapping}
    backend.client.request("PUT", f"/{index}", body)
    lines = []
    for document in documents:
        lines += [{"index": {"_index": index, "_id": document["_id"]}}, fields(document)]
    backend.client.request("POST", "/_bulk", ndjson=lines, params={"refresh": "true"})
    attach = ("attach", "--index", index, "--text-field", "text", "--title-field", "title")
    running = esrerank(folder / "store", args.url, *attach)
    embedded = {"exists": {"field": "esrerank_hash"}}
    while running.poll() is None:
        backend.refresh(index)
        if backend.count(index, embedded) > 0:
            break
        time.sleep(0.05)
    outcome = killed_under(args, running)
    again = finished(esrerank(folder / "store", args.url, *attach))
    third = finished(esrerank(folder / "store", args.url, *attach))
    backend.refresh(index)
    result = {
        "documents": len(documents),
        "first_run": outcome,
        "run_again": again,
        "third_run": third,  # embeds nothing when every vector is current
        "with_vector": backend.count(index, embedded),
        "stored": backend.count(index),
    }
    backend.delete_index(index)
    return result


def fields(document: dict) -> dict:
    return {"title": document["title"], "text": document["text"]}


def search_run(args, folder: Path, corpus: Path, claims: list[str]) -> dict:
    """Two clients search through serve for 10 s, through the kill, 20 s more, the node's
    return and 5 s after the cluster is green."""
    backend = open_backend(args.url, folder / "store")
    index = "node-loss-search"
    backend.delete_index(index)
    ingest = ("ingest", str(corpus), "--index", index, *SPREAD)
    if finished(esrerank(folder / "store", args.url, *ingest))["exit"] != 0:
        raise RuntimeError("the ingest for the searches failed")
    seconds_to_green(args.url)
    port = free_port()
    serve = esrerank(folder / "store", args.url, "serve", "--index", index, "--port", str(port))
    front = f"http://127.0.0.1:{port}"
    wait_ready(f"127.0.0.1:{port}")
    answers: list[tuple[str, float, int, bool]] = []  # phase, ms, status, partial
    phase = ["before"]
    stop = threading.Event()
    queue = itertools.cycle(claims)
    lock = threading.Lock()

    def search_on() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                with lock:
                    claim = next(queue)
                body = {"query": {"match": {"content": claim}}, "size": 10}
                started = time.perf_counter()
                try:
                    response = session.post(f"{front}/{index}/_search", json=body, timeout=300)
                    status = response.status_code
                    partial = status == 200 and response.json()["_shards"].get("failed", 0) > 0
                except requests.ConnectionError:
                    status, partial = 0, False
                took = (time.perf_counter() - started) * 1000
                answers.append((phase[0], took, status, partial))

    clients = [threading.Thread(target=search_on) for _ in range(2)]
    for client in clients:
        client.start()
    try:
        time.sleep(10)
        phase[0] = "node down"
        node("kill", args.engine)
        time.sleep(20)
        phase[0] = "node back"
        node("start", args.engine)
        green = seconds_to_green(args.url)
        time.sleep(5)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=320)
        serve.terminate()
        serve.communicate(timeout=60)
        backend.delete_index(index)
    by_phase: dict = {}
    for name in ("before", "node down", "node back"):
        mine = [a for a in answers if a[0] == name]
        times = sorted(a[1] for a in mine)
        by_phase[name] = {
            "searches": len(mine),
            "statuses": dict(collections.Counter(str(a[2]) for a in mine)),
            "partial": sum(a[3] for a in mine),
            "p50_ms": round(times[len(times) // 2]) if times else None,
            "max_ms": round(times[-1]) if times else None,
        }
    return {"phases": by_phase, "seconds_to_green": round(green, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("beir", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl)")
    parser.add_argument("--engine", choices=("opensearch", "elasticsearch"), required=True)
    parser.add_argument("--url", required=True, help="the cluster's first node")
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--out", type=Path, required=True, help="results path, no suffix")
    args = parser.parse_args()
    with (args.beir / "corpus.jsonl").open() as corpus_file:
        documents = [json.loads(line) for line in itertools.islice(corpus_file, args.documents)]
    claims = [json.loads(line)["text"] for line in (args.beir / "queries.jsonl").open()][:200]
    version = requests.get(args.url, timeout=10).json()["version"]["number"]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        corpus = folder / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(d) + "\n" for d in documents))
        results = {"engine": args.engine, "version": version, "documents": len(documents)}
        results["ingest"] = ingest_run(args, folder, corpus)
        print("ingest", results["ingest"], flush=True)
        results["attach"] = attach_run(args, folder, documents)
        print("attach", results["attach"], flush=True)
        results["search"] = search_run(args, folder, corpus, claims)
        print("search", results["search"], flush=True)
    write(args, results)


def said(run: dict) -> str:
    """A run's last line less the engine and model it names: its counts, or its error."""
    return run["last_line"].rsplit("): ", 1)[-1][:120]


def write(args, results: dict) -> None:
    ingest, attach, search = results["ingest"], results["attach"], results["search"]
    lines = [
        f"# A node killed: {results['engine']} {results['version']}, 3 nodes, "
        f"{results['documents']} documents of {args.beir.name}",
        "",
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, all nodes on this machine; "
        "3 primaries and 1 replica per index; node 3 killed with SIGKILL, then started again.",
        "",
        "| run | first run ended | after the kill | to green | run again | lost | doubled |",
        "|---|---|---|---|---|---|---|",
    ]
    first = ingest["first_run"]
    lines.append(
        f"| ingest ({ingest['passages_expected']} passages) | exit {first['exit']}: "
        f"`{said(first)}` | {first['seconds_after_kill']} s | "
        f"{first['seconds_to_green']} s | exit {ingest['run_again']['exit']} | "
        f"{ingest['lost']} (+{ingest['extra']} not in a clean ingest, {ingest['changed']} "
        f"changed) | {ingest['duplicated']} |"
    )
    first = attach["first_run"]
    lines.append(
        f"| attach ({attach['documents']} documents) | exit {first['exit']}: "
        f"`{said(first)}` | {first['seconds_after_kill']} s | "
        f"{first['seconds_to_green']} s | exit {attach['run_again']['exit']}, then "
        f"`{said(attach['third_run'])}` | "
        f"{attach['documents'] - attach['with_vector']} without a vector | "
        f"{attach['stored'] - attach['documents']} |"
    )
    lines += [
        "",
        f"Reranked searches through serve, 2 clients; the cluster was green "
        f"{search['seconds_to_green']} s after the node came back:",
        "",
        "| phase | searches | HTTP statuses | partial (failed shards) | p50 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    for phase, row in search["phases"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        lines.append(
            f"| {phase} | {row['searches']} | {statuses} | {row['partial']} | "
            f"{row['p50_ms']} | {row['max_ms']} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(lines, args.out.with_suffix(".md"))
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
