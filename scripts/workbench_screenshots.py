"""The workbench screenshots in docs/images: the sample corpus in a throwaway embedded store,
its 20 claims' qrels imported as judgments, ``esrerank serve`` with the reranker it ships, and
a headless Chromium taking each step (search, what-if, judging, tuning, compare).

    python scripts/workbench_screenshots.py [docs/images]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.browser import start_chromium  # noqa: E402

SAMPLE = REPO / "examples" / "sample"
QUERY = "Bariatric surgery reduces colorectal cancer."
PORT = 8097


def esrerank(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "esrerank", *args], check=True, env=env)


def main() -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    out = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "docs" / "images")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="workbench-shots-") as folder:
        env = {**os.environ, "ESRERANK_DATA_DIR": folder, "HF_HUB_OFFLINE": "1"}
        esrerank("ingest", str(SAMPLE / "corpus.jsonl"), "--index", "sample", env=env)
        beir = Path(folder) / "beir"
        (beir / "qrels").mkdir(parents=True)
        (beir / "queries.jsonl").write_text((SAMPLE / "queries.jsonl").read_text())
        (beir / "qrels" / "test.tsv").write_text((SAMPLE / "queries.qrels.tsv").read_text())
        esrerank("judgments", "import", str(beir), "--index", "sample", env=env)
        serve = subprocess.Popen(
            [sys.executable, "-m", "esrerank", "serve", "--index", "sample", "--port", str(PORT)],
            env=env,
        )
        browser = start_chromium(1500, 950)
        try:
            base = f"http://127.0.0.1:{PORT}"
            for _ in range(300):
                try:
                    if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                time.sleep(1)
            browser.get(f"{base}/_esrerank/workbench/")
            status = browser.find_element(By.ID, "status")

            def drawn(kind: str, calls: int) -> None:
                WebDriverWait(browser, 300).until(
                    lambda b: (
                        status.get_attribute("data-kind") == kind
                        and int(status.get_attribute("data-calls") or 0) >= calls
                    )
                )

            def shot(name: str, section: str | None = None) -> None:
                script = "arguments[0].scrollIntoView()" if section else "window.scrollTo(0, 0)"
                browser.execute_script(
                    script, *([browser.find_element(By.ID, section)] if section else [])
                )
                time.sleep(0.3)
                path = out / f"workbench-{name}.png"
                if not browser.save_screenshot(str(path)):
                    raise SystemExit(f"could not write {path}")
                print(f"wrote {path}")

            browser.find_element(By.ID, "query").send_keys(QUERY, Keys.ENTER)
            drawn("search", 1)
            shot("search")
            browser.find_element(By.ID, "rerank-weight").send_keys(Keys.END)
            drawn("what-if", 1)
            shot("what-if")
            cards = browser.find_elements(By.CSS_SELECTOR, '.column[data-stage="final"] .hit')
            for card, grade in zip(cards[:3], (3, 0, 1), strict=True):
                card.find_element(By.CSS_SELECTOR, f'.grade[data-grade="{grade}"]').click()
                time.sleep(0.5)
            shot("judged")
            browser.find_element(By.ID, "tune").click()
            WebDriverWait(browser, 600).until(
                lambda b: b.find_element(By.ID, "tuning").get_attribute("data-calls") == "1"
            )
            shot("tuned", "tuning")
            browser.find_element(By.ID, "compare-go").click()
            WebDriverWait(browser, 600).until(
                lambda b: b.find_element(By.ID, "compare").get_attribute("data-calls") == "1"
            )
            shot("compare", "compare")
        finally:
            browser.quit()
            serve.terminate()
            serve.wait(30)
    print(json.dumps({"images": sorted(p.name for p in out.glob("workbench-*.png"))}))


if __name__ == "__main__":
    main()
