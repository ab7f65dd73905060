"""What the ``serve_*.py`` benchmarks share: their options, a throwaway index built from the
first documents of a BEIR folder, ``esrerank serve`` started as a user starts it (a subprocess,
ready once ``GET /healthz`` answers 200) and stopped, percentiles, the environment, and writing
``PREFIX.md`` + ``PREFIX.json``.

Not a benchmark itself; imported by ``serve_overhead.py``, ``serve_load.py`` and
``serve_vs_api.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from esrerank import EsrerankError, Searcher, __version__
from esrerank.evaluation import load_eval_data
from esrerank.models.hub import DEFAULT_BI_ENCODER, DEFAULT_CROSS_ENCODER

DEFAULT_DATA = Path("../shared/data/scifact")  # relative to the repository root
READY_SECONDS = 600  # the models load (and may be exported once) before serve listens
STOP_SECONDS = 30
HTTP_TIMEOUT = 120


def progress(message: str) -> None:
    """One line per phase on stderr, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def add_common_options(parser: argparse.ArgumentParser, out_example: str) -> None:
    """Options every serve benchmark takes: the data, the engine, the models, the output."""
    parser.add_argument(
        "data",
        type=Path,
        nargs="?",
        default=DEFAULT_DATA,
        help=f"a BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv [{DEFAULT_DATA}]",
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:9201", help="the engine's URL [http://127.0.0.1:9201]"
    )
    parser.add_argument(
        "--documents",
        type=int,
        default=2000,
        help="the corpus' first N documents go into the benchmark's own index [2000]",
    )
    parser.add_argument("--split", default="test", help="whose queries are sent [test]")
    parser.add_argument(
        "--bi-encoder",
        default=DEFAULT_BI_ENCODER,
        help=f"bi-encoder of the index, in-process and in serve [{DEFAULT_BI_ENCODER}]",
    )
    parser.add_argument(
        "--reranker",
        default=DEFAULT_CROSS_ENCODER,
        help=f"cross-encoder of serve and the in-process searcher [{DEFAULT_CROSS_ENCODER}; "
        "offline, esrerank falls back to its bundled reranker: the result names the one used]",
    )
    parser.add_argument("--port", type=int, default=0, help="serve's port [0: a free one]")
    parser.add_argument(
        "--rerank-memory",
        type=int,
        default=0,
        help="serve's --rerank-memory [0: none, so a search sent again costs what a new one does]",
    )
    parser.add_argument(
        "--out",
        required=True,
        help=f"results prefix: writes PREFIX.md and PREFIX.json ({out_example})",
    )


def test_queries(folder: Path, split: str, count: int | None) -> list[str]:
    """The texts of the split's judged queries, in id order, the first ``count`` (all: None)."""
    try:
        texts = list(load_eval_data(folder, split).queries.values())
    except EsrerankError as exc:
        raise SystemExit(f"{folder}: {exc}") from None
    if not texts:
        raise SystemExit(f"{folder}: no judged {split} queries")
    return texts[:count] if count else texts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def summary(seconds: list[float]) -> dict:
    """Count, median, p95, p99 and mean of durations, in milliseconds."""
    ms = np.asarray(seconds, dtype=float) * 1000
    if ms.size == 0:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None}
    return {
        "n": int(ms.size),
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "mean": float(ms.mean()),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


@dataclass
class BenchIndex:
    """An index of its own on the engine: the first ``documents`` of a BEIR corpus, ingested
    through the Python API; deleted on exit."""

    url: str
    folder: Path
    documents: int
    bi_encoder: str
    work: Path
    name: str = field(default_factory=lambda: f"serve-bench-{uuid.uuid4().hex[:8]}")
    report: str = ""
    ingested: int = 0
    seed: Callable[[dict], dict] | None = None  # fields given each document before ingest

    def __enter__(self) -> BenchIndex:
        corpus = self.folder / "corpus.jsonl"
        if not corpus.is_file():
            raise SystemExit(
                f"{corpus} not found: give a BEIR folder (corpus.jsonl, queries.jsonl)"
            )
        part = self.work / "corpus.jsonl"
        with open(corpus) as lines, open(part, "w") as out:
            for line in lines:
                if self.ingested == self.documents:
                    break
                if line.strip():
                    if self.seed is not None:
                        line = json.dumps(self.seed(json.loads(line))) + "\n"
                    out.write(line)
                    self.ingested += 1
        progress(f"ingesting {self.ingested} documents of {corpus} into {self.url}/{self.name}")
        started = time.perf_counter()
        searcher = Searcher(
            self.url, self.name, data_dir=self.work / "store", bi_encoder=self.bi_encoder
        )
        try:
            try:
                report = searcher.ingest(part)
            finally:
                searcher.close()
            if report.failed:
                raise SystemExit(f"ingest failed for {report.failed}: {report.failures[:3]}")
        except BaseException:
            self.delete()
            raise
        self.report = report.summary()
        progress(f"ingested in {time.perf_counter() - started:.0f} s: {self.report}")
        return self

    def delete(self) -> None:
        with contextlib.suppress(requests.RequestException):
            requests.delete(f"{self.url}/{self.name}", timeout=HTTP_TIMEOUT)

    def __exit__(self, *exc_info) -> None:
        self.delete()
        progress(f"deleted index {self.name}")


def esrerank_command() -> list[str]:
    """``esrerank`` as installed beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "esrerank"
    found = str(beside) if beside.exists() else shutil.which("esrerank")
    if found is None:
        raise SystemExit("the esrerank command is not installed: pip install -e '.[serve]'")
    return [found]


@dataclass
class Server:
    """``esrerank serve`` in a subprocess, its output in ``log``; ``health``: /healthz's answer."""

    url: str
    index: str
    work: Path
    bi_encoder: str
    reranker: str
    port: int = 0
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    health: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.work / "serve.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def argv(self) -> list[str]:
        return [
            *esrerank_command(),
            "serve",
            "--url",
            self.url,
            "--index",
            self.index,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.work / "serve-data"),
            "--bi-encoder",
            self.bi_encoder,
            "--reranker",
            self.reranker,
            *self.extra,
        ]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> Server:
        self.port = self.port or free_port()
        progress(f"starting {shlex.join(self.argv)}")
        started = time.perf_counter()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        models = self.health.get("models", {})
        progress(
            f"serve ready on {self.base} after {time.perf_counter() - started:.0f} s "
            f"(pid {self.pid}; {models.get('bi_encoder')}; {models.get('reranker')})"
        )
        return self

    def _wait_ready(self, started: float) -> None:
        last = ""
        while time.perf_counter() - started < READY_SECONDS:
            code = self.process.poll()
            if code is not None:
                raise SystemExit(
                    f"esrerank serve exited with {code} before it was ready; its output:\n"
                    f"{self.log_tail()}"
                )
            try:
                answer = requests.get(f"{self.base}/healthz", timeout=5)
                if answer.status_code == 200:
                    self.health = answer.json()
                    return
                last = f"/healthz answered {answer.status_code}: {answer.text[:300]}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(0.5)
        raise SystemExit(
            f"esrerank serve not ready after {READY_SECONDS} s ({last}); its output:\n"
            f"{self.log_tail()}"
        )

    def stop(self) -> int | None:
        """SIGINT (uvicorn's graceful stop), then terminate, then kill; the exit status."""
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        for send in (lambda: process.send_signal(signal.SIGINT), process.terminate, process.kill):
            send()
            try:
                return process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                continue
        return process.wait()

    def __exit__(self, *exc_info) -> None:
        code = self.stop()
        progress(f"serve stopped (exit status {code})")


@contextlib.contextmanager
def served_index(
    args, extra: list[str] | None = None, seed: Callable[[dict], dict] | None = None
) -> Iterator[tuple[BenchIndex, Server]]:
    """The benchmark's own index on ``args.url`` and ``esrerank serve`` in front of it (the
    common options, ``extra`` flags for serve, ``seed`` for each document's fields), in a
    temporary folder; all removed on exit."""
    check_engine(args.url)
    with (
        tempfile.TemporaryDirectory(prefix="serve-bench-") as folder,
        BenchIndex(
            args.url, args.data, args.documents, args.bi_encoder, Path(folder), seed=seed
        ) as index,
        Server(
            args.url,
            index.name,
            index.work,
            args.bi_encoder,
            args.reranker,
            args.port,
            ["--rerank-memory", str(args.rerank_memory), *(extra or [])],
        ) as server,
    ):
        yield index, server


def api_searcher(args, index: BenchIndex) -> Searcher:
    """The Python API on the benchmark's index, with serve's models (the common options)."""
    return Searcher(
        args.url,
        index.name,
        data_dir=index.work / "api-store",
        bi_encoder=args.bi_encoder,
        reranker=args.reranker,
    )


def check_engine(url: str) -> dict:
    """The engine's root answer; a clear exit when it does not answer."""
    try:
        answer = requests.get(url, timeout=10)
        answer.raise_for_status()
        return answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise SystemExit(f"no engine answers at {url} ({exc}): scripts/engines.sh start") from None


def environment(server: Server, **more) -> dict:
    """What the figures depend on: versions, models as loaded, the machine."""
    cluster = server.health.get("cluster", {})
    models = server.health.get("models", {})
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "esrerank": __version__,
        "engine": f"{cluster.get('engine')} {cluster.get('version')}",
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.machine()}, {platform.platform()}",
        "python": platform.python_version(),
        "http_client": f"requests {requests.__version__} (one Session per side / client)",
        "bi_encoder": models.get("bi_encoder"),
        "reranker": models.get("reranker"),
        "serve": shlex.join(["esrerank", *server.argv[1:]]),
        **more,
    }


def environment_lines(env: dict) -> list[str]:
    return [
        f"Environment: esrerank {env['esrerank']}, {env['engine']}, {env['cpu_count']} CPUs "
        f"({env['machine']}), Python {env['python']}, {env['http_client']}; {env['date']}.",
        f"Models (as serve loaded them): bi-encoder {env['bi_encoder']}, "
        f"reranker {env['reranker']}.",
        f"Server: `{env['serve']}` (the index and port are the run's own).",
    ]


def command_line() -> str:
    return "python " + shlex.join(sys.argv)


def base_result(args, env: dict, texts: list[str], index: BenchIndex, **settings) -> dict:
    """What every result records: the command, the environment, the data and index, and the
    script's own ``settings``."""
    common = {
        "data": str(args.data),
        "split": args.split,
        "queries": len(texts),
        "documents": index.ingested,
        "ingest": index.report,
    }
    return {"command": command_line(), "environment": env, "settings": {**common, **settings}}


def write_results(out: str, lines: list[str], result: dict) -> None:
    """``PREFIX.md`` (``lines`` and the command) and ``PREFIX.json``; the markdown printed."""
    prefix = Path(out)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join([*lines, "", f"Command: `{result['command']}`"]) + "\n"
    Path(f"{prefix}.md").write_text(text)
    Path(f"{prefix}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(text)
    progress(f"wrote {prefix}.md and {prefix}.json")


def post(session: requests.Session, url: str, body: dict) -> tuple[float, requests.Response]:
    """Seconds to send ``body`` and read the whole answer, and the answer."""
    started = time.perf_counter()
    answer = session.post(url, json=body, timeout=HTTP_TIMEOUT)
    return time.perf_counter() - started, answer


def expect_ok(answer: requests.Response, what: str) -> dict:
    """The JSON of a 200 answer; a clear exit otherwise."""
    if answer.status_code != 200:
        raise SystemExit(f"{what}: HTTP {answer.status_code}: {answer.text[:500]}")
    return answer.json()
