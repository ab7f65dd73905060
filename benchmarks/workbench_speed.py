"""How fast the workbench page answers, in a real headless Chromium against ``esrerank serve``:
from a query typed to the four columns drawn, and from a what-if (the rerank weight moved) to
the columns drawn again, medians over the split's queries, with the time the server spent.

    python benchmarks/workbench_speed.py ../shared/data/scifact --documents 2000 --queries 20 \\
        --out benchmarks/results/workbench-speed

OpenSearch (or Elasticsearch) must be running (``scripts/engines.sh start``); the benchmark
ingests the first ``--documents`` of the corpus into an index of its own and deletes it. serve
keeps 20,000 cross-encoder scores (``--rerank-memory``), as it does by default, so a what-if
finds the pool's scores in memory; the result says how many pairs the model ran for each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ is the repository's

from serve_bench import (  # noqa: E402
    add_common_options,
    base_result,
    environment,
    environment_lines,
    progress,
    served_index,
    table,
    test_queries,
    write_results,
)

from tests.integration.browser import start_chromium  # noqa: E402

WAIT_SECONDS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser, "benchmarks/results/workbench-speed")
    parser.add_argument("--queries", type=int, default=20, help="queries typed [20]")
    parser.set_defaults(rerank_memory=20_000)
    args = parser.parse_args()
    texts = test_queries(args.data, args.split, args.queries)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    drawn = {"search": [], "what-if": []}
    took = {"search": [], "what-if": []}
    model_pairs = {"search": [], "what-if": []}
    with served_index(args) as (index, server):
        browser = start_chromium()
        try:
            browser.get(f"{server.base}/_esrerank/workbench/")
            field = browser.find_element(By.ID, "index")
            field.clear()
            field.send_keys(index.name)
            status = browser.find_element(By.ID, "status")

            def wait_for(kind: str, calls: int) -> None:
                WebDriverWait(browser, WAIT_SECONDS).until(
                    lambda b: (
                        status.get_attribute("data-kind") == kind
                        and int(status.get_attribute("data-calls") or 0) >= calls
                    )
                )
                drawn[kind].append(float(status.get_attribute("data-drawn-ms")))
                took[kind].append(float(status.get_attribute("data-took-ms")))
                model_pairs[kind].append(int(status.get_attribute("data-model-pairs")))

            weight = browser.find_element(By.ID, "rerank-weight")
            for number, text in enumerate(texts, start=1):
                query = browser.find_element(By.ID, "query")
                query.clear()
                query.send_keys(text, Keys.ENTER)
                wait_for("search", number)
                weight.send_keys(Keys.END if number % 2 else Keys.HOME)  # to 1, or to 0
                wait_for("what-if", number)
                progress(
                    f"{number}/{len(texts)}: {drawn['search'][-1]:.0f} ms, "
                    f"what-if {drawn['what-if'][-1]:.0f} ms"
                )
        finally:
            browser.quit()
        env = environment(server)
    medians = {
        kind: {
            "drawn_ms": statistics.median(drawn[kind]),
            "server_ms": statistics.median(took[kind]),
            "model_pairs": statistics.median(model_pairs[kind]),
        }
        for kind in drawn
    }
    result = base_result(args, env, texts, index, medians=medians, drawn=drawn, took=took)
    rows = [
        [
            kind,
            f"{m['drawn_ms']:.0f}",
            f"{m['server_ms']:.0f}",
            f"{m['model_pairs']:g}",
        ]
        for kind, m in medians.items()
    ]
    lines = [
        "# Workbench speed",
        "",
        f"{len(texts)} {args.split} queries of {args.data}, {index.ingested} documents on "
        f"{env.get('engine', 'the engine')}; a page of 10, a rerank pool of 100; medians.",
        "",
        *table(["step", "drawn in (ms)", "server (ms)", "model pairs"], rows),
        "",
        *environment_lines(env),
    ]
    write_results(args.out, lines, result)


if __name__ == "__main__":
    main()
