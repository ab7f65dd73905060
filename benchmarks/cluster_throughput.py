"""A single node against a three-node cluster of the same engine, side by side in one run:
ingest and attach throughput, and a reranked search's latency through one ``esrerank serve`` and
through HAProxy (examples/haproxy.cfg) in front of two.

Ingest and attach run through the real command line with one embedding cache, filled by a first
ingest that is not counted, so the figures are the engine's side: bulk writes and partial
updates of precomputed vectors (a cold ingest is the bi-encoder's speed whatever the engine,
docs/speed.md). Rounds alternate between the two targets; medians are reported. The searches
are the first claims of queries.jsonl as an application's ``match`` query of 10 hits, answered
hybrid and reranked; the serves run on the cluster's index with no score memory, so each search
runs its cross-encoder pairs whichever path it took.

    scripts/engines.sh start opensearch opensearch-cluster
    python benchmarks/cluster_throughput.py ../shared/data/scifact --documents 2000 \\
        --single http://127.0.0.1:9201 --cluster http://127.0.0.1:9221 \\
        --out benchmarks/results/cluster-throughput-opensearch
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from report import write_report

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/ is the repository's

from tests.integration.served import free_port  # noqa: E402

HAPROXY_CONFIG = HERE.parent / "examples" / "haproxy.cfg"
INGESTED = re.compile(r"passages=(\d+) indexed=(\d+).* seconds=([\d.]+) \(embedding ([\d.]+)\)")
ATTACHED = re.compile(r"documents=(\d+) embedded=(\d+).* seconds=([\d.]+)")


def cli(data_dir: Path, url: str, *arguments: str) -> str:
    """The esrerank command's summary output (stdout and stderr)."""
    env = {**os.environ, "ESRERANK_URL": url, "ESRERANK_DATA_DIR": str(data_dir)}
    env["HF_HUB_OFFLINE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "esrerank", *arguments, "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout + done.stderr


def drop(url: str, name: str) -> None:
    """Delete the index ``name`` (or those under an alias of that name, as a rebuild leaves)."""
    aliased = requests.get(f"{url}/_alias/{name}")
    for index in aliased.json() if aliased.status_code == 200 else [name]:
        requests.delete(f"{url}/{index}")


def ingest(data_dir: Path, url: str, corpus: Path, index: str) -> dict:
    drop(url, index)
    output = cli(data_dir, url, "ingest", str(corpus), "--index", index)
    passages, indexed, seconds, embedding = INGESTED.search(output).groups()
    return {"passages": int(passages), "seconds": float(seconds), "embedding": float(embedding)}


def attach(data_dir: Path, url: str, documents: list[dict], index: str) -> dict:
    """A plain application index of ``documents``, then ``esrerank attach`` on it."""
    drop(url, index)
    body = {"mappings": {"properties": {"title": {"type": "text"}, "text": {"type": "text"}}}}
    if "opensearch" in requests.get(url).json().get("version", {}).get("distribution", ""):
        body["settings"] = {"index.knn": True}
    requests.put(f"{url}/{index}", json=body).raise_for_status()
    lines = []
    for document in documents:
        lines += [{"index": {"_id": document["_id"]}}, {k: document[k] for k in ("title", "text")}]
    payload = "".join(json.dumps(line) + "\n" for line in lines)
    requests.post(
        f"{url}/{index}/_bulk?refresh=true",
        data=payload,
        headers={"content-type": "application/x-ndjson"},
    ).raise_for_status()
    output = cli(data_dir, url, "attach", "--index", index, "--text-field", "text")
    found, embedded, seconds = ATTACHED.search(output).groups()
    drop(url, index)
    return {"documents": int(found), "seconds": float(seconds)}


def start_serve(data_dir: Path, url: str, index: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "ESRERANK_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "esrerank", "serve", "--url", url, "--index", index]
    command += ["--rerank-memory", "0"]  # every search runs its pairs: no path finds them cached
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"127.0.0.1:{port}"


def wait_ready(address: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://{address}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"nothing answered on {address} within {seconds} s")


def latencies(address: str, index: str, claims: list[str], clients: int) -> list[float]:
    """Milliseconds of each search, ``clients`` sending back to back over the claims."""
    times: list[float] = []
    work = list(claims)
    lock = threading.Lock()

    def send() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if not work:
                        return
                    claim = work.pop()
                body = {"query": {"match": {"content": claim}}, "size": 10}
                started = time.perf_counter()
                answer = session.post(f"http://{address}/{index}/_search", json=body, timeout=300)
                answer.raise_for_status()
                assert answer.headers.get("x-esrerank-reranked") == "true", answer.headers
                with lock:
                    times.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=send) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("beir", type=Path, help="a BEIR folder (corpus.jsonl, queries.jsonl)")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--single", required=True, help="the single node's URL")
    parser.add_argument("--cluster", required=True, help="the three-node cluster's URL")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--searches", type=int, default=60, help="claims per latency run")
    parser.add_argument("--out", type=Path, required=True, help="results path, no suffix")
    args = parser.parse_args()
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy is None:
        sys.exit("HAProxy is not installed: apt-get install haproxy")
    with (args.beir / "corpus.jsonl").open() as corpus_file:
        documents = [json.loads(line) for line in itertools.islice(corpus_file, args.documents)]
    claims = [json.loads(line)["text"] for line in (args.beir / "queries.jsonl").open()]
    claims = claims[: args.searches]
    targets = {"single node": args.single, "3-node cluster": args.cluster}
    results: dict = {"ingest": {t: [] for t in targets}, "attach": {t: [] for t in targets}}
    with tempfile.TemporaryDirectory() as folder:
        data_dir, corpus = Path(folder), Path(folder) / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(d) + "\n" for d in documents))
        print("filling the embedding cache", flush=True)
        ingest(data_dir, args.single, corpus, "bench-cluster-warm")
        drop(args.single, "bench-cluster-warm")
        attach(data_dir, args.single, documents, "bench-cluster-app")  # attach's passages too
        for number in range(args.rounds):
            for target, url in targets.items():
                ingested = ingest(data_dir, url, corpus, "bench-cluster")
                attached = attach(data_dir, url, documents, "bench-cluster-app")
                results["ingest"][target].append(ingested)
                results["attach"][target].append(attached)
                print(number, target, ingested, attached, flush=True)
        serves = [start_serve(data_dir, args.cluster, "bench-cluster") for _ in range(2)]
        front = f"127.0.0.1:{free_port()}"
        environment = {**os.environ, "ESRERANK_BALANCER": front}
        environment.update(ESRERANK_SERVE_1=serves[0][1], ESRERANK_SERVE_2=serves[1][1])
        balancer = subprocess.Popen(
            [haproxy, "-db", "-f", str(HAPROXY_CONFIG)],
            env=environment,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _, address in serves:
                wait_ready(address)
            wait_ready(front)
            latencies(front, "bench-cluster", claims[:10], 2)  # warm both serves
            searched: dict = {}
            for clients in (1, 4):
                for name, address in (("one serve", serves[0][1]), ("HAProxy, two serves", front)):
                    times = latencies(address, "bench-cluster", claims, clients)
                    searched[f"{name}, {clients} client(s)"] = times
                    print(name, clients, statistics.median(times), flush=True)
        finally:
            balancer.terminate()
            for process, _ in serves:
                process.terminate()
            for process, _ in serves:
                process.wait(60)
            drop(args.cluster, "bench-cluster")
            drop(args.single, "bench-cluster")
    results["search"] = searched
    write(args, results, len(documents))


def write(args, results: dict, documents: int) -> None:
    engine = requests.get(args.cluster).json()["version"]
    lines = [
        f"# A single node against a three-node cluster: {args.beir.name}, {documents} documents",
        "",
        f"{engine.get('distribution', 'elasticsearch')} {engine['number']}, single node "
        f"{args.single} and 3-node cluster {args.cluster} (3 primaries by the cluster's template "
        f"or 1, replicas auto 0-1) on one machine of {os.cpu_count()} cores; "
        f"{time.strftime('%Y-%m-%d')}. Embeddings from a warm cache: the engine's side of "
        f"ingest and attach. Medians of {args.rounds} alternating rounds.",
        "",
        "| target | ingest passages/s (store only) | attach documents/s |",
        "|---|---|---|",
    ]
    for target in results["ingest"]:
        ingested, attached = results["ingest"][target], results["attach"][target]
        store = statistics.median(r["passages"] / (r["seconds"] - r["embedding"]) for r in ingested)
        rate = statistics.median(r["documents"] / r["seconds"] for r in attached)
        lines.append(f"| {target} | {store:.0f} | {rate:.0f} |")
    lines += [
        "",
        f"A reranked search ({args.searches} claims of {args.beir.name}, `match` on `content`, "
        "10 hits) on the cluster's index, client-side ms:",
        "",
        "| path | p50 | p95 |",
        "|---|---|---|",
    ]
    for name, times in results["search"].items():
        lines.append(f"| {name} | {statistics.median(times):.0f} | {percentile(times, 0.95):.0f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(lines, args.out.with_suffix(".md"))
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
