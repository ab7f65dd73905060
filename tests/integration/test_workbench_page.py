"""The workbench page in a real headless Chromium against a real serve: a search draws the four
columns with the ranks the Python API gives, moving the rerank weight reorders them without a
model call, and indexed text that holds markup and script shows as text and never runs.

With ``ESRERANK_SCREENSHOTS=DIR`` the steps are saved there as PNGs (docs/images holds them)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from esrerank import Searcher
from esrerank.backends.judgments import Judgment
from esrerank.fusion import FusionSpec

from .browser import chromium
from .served import served_index

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "page-key"
QUERY = "bariatric surgery and colorectal cancer"
HOSTILE = {
    "_id": "hostile",
    "title": "<b>Bold</b> claims about bariatric surgery",
    "text": "Bariatric surgery <script>window.pwned = 1</script>"
    '<img src=x onerror="window.pwned = 2"> and colorectal cancer risk.',
}


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_dir, bi_encoder, tiny_reranker):
    lines = (sample_dir / "corpus.jsonl").read_text().splitlines()[:60]
    documents = [json.loads(line) for line in lines] + [HOSTILE]
    with served_index(
        None,
        tmp_path_factory.mktemp("page"),
        documents,
        "page",
        KEY,
        bi_encoder=bi_encoder,
        reranker=tiny_reranker,
        rerank_memory=20_000,
    ) as found:
        yield found


@pytest.fixture(scope="module")
def browser():
    session = chromium()
    yield session
    session.quit()


def shot(browser, name: str) -> None:
    folder = os.environ.get("ESRERANK_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"workbench-{name}.png"))


def column(browser, stage: str) -> list[str]:
    from selenium.webdriver.common.by import By

    cards = browser.find_elements(By.CSS_SELECTOR, f'.column[data-stage="{stage}"] .hit')
    return [card.get_attribute("data-pid") for card in cards]


def wait_for(browser, kind: str, count: int):
    """Until the page has drawn the answer to its ``count``-th call of ``kind``."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 120).until(
        lambda b: b.execute_script(
            "const s = document.getElementById('status');"
            "return s.dataset.kind === arguments[0] && Number(s.dataset.calls) >= arguments[1]",
            kind,
            count,
        )
    )


def click_and_show(browser, button: str, section: str, name: str) -> None:
    """Click ``button``, wait until ``section`` has drawn its answer, show it and take a shot."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, button).click()
    WebDriverWait(browser, 300).until(
        lambda b: b.find_element(By.ID, section).get_attribute("data-calls") == "1"
    )
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, section))
    shot(browser, name)


def test_search_then_move_the_weight(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, index, searcher = served
    browser.get(f"{url}/_esrerank/workbench/")
    key = browser.find_element(By.ID, "key")  # the server has a key: the page asks for it
    assert browser.find_element(By.ID, "key-form").is_displayed()
    key.send_keys(KEY, Keys.ENTER)
    assert not browser.find_element(By.ID, "key-form").is_displayed()
    browser.find_element(By.ID, "query").send_keys(QUERY, Keys.ENTER)
    wait_for(browser, "search", 1)
    shot(browser, "search")
    api = searcher.search(QUERY, top_k=10)
    assert column(browser, "final") == [hit.passage_id for hit in api.hits]
    assert column(browser, "bm25") == [h.passage.passage_id for h in api.legs["bm25"][:10]]
    assert column(browser, "dense") == [h.passage.passage_id for h in api.legs["dense"][:10]]
    assert column(browser, "fused") == list(api.fused.order[:10])
    final_ranks = browser.find_elements(By.CSS_SELECTOR, '.column[data-stage="final"] .rank')
    assert [rank.text for rank in final_ranks] == [str(n) for n in range(1, 11)]

    weight = browser.find_element(By.ID, "rerank-weight")
    weight.send_keys(Keys.END)  # all the way to the cross-encoder: 1.0
    wait_for(browser, "what-if", 1)
    shot(browser, "what-if")
    status = browser.find_element(By.ID, "status")
    assert status.get_attribute("data-model-pairs") == "0"
    heavy = searcher.search(QUERY, top_k=10, rerank_weight=1.0)
    assert column(browser, "final") == [hit.passage_id for hit in heavy.hits]
    assert column(browser, "final") != [hit.passage_id for hit in api.hits]


def test_judge_five_documents_by_click_and_key(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, index, searcher = served
    browser.get(f"{url}/_esrerank/workbench/")
    query = browser.find_element(By.ID, "query")
    query.clear()
    query.send_keys(QUERY + "\n")
    wait_for(browser, "search", 1)
    cards = {}  # the first hit of each of five documents (a document may have two passages)
    for card in browser.find_elements(By.CSS_SELECTOR, '.column[data-stage="final"] .hit'):
        cards.setdefault(card.get_attribute("data-doc"), card)
    cards = list(cards.values())[:5]
    docs = [card.get_attribute("data-doc") for card in cards]
    given = dict(zip(docs, [3, 2, 1, 0, 3], strict=True))
    for number, (card, grade) in enumerate(zip(cards, given.values(), strict=True)):
        if number % 2:  # by key: focus the hit, press its grade
            card.click()
            card.send_keys(str(grade))
        else:
            card.find_element(By.CSS_SELECTOR, f'.grade[data-grade="{grade}"]').click()
        WebDriverWait(browser, 30).until(
            lambda b, n=number: (
                b.find_element(By.ID, "judged").get_attribute("data-calls") == str(n + 1)
            )
        )
    shot(browser, "judged")
    stored = {
        j.doc_id: j.grade for j in searcher.backend.judgments(index).all() if j.query == QUERY
    }
    assert stored == given

    browser.refresh()  # the grades come back with the query
    browser.find_element(By.ID, "query").send_keys(QUERY + "\n")
    wait_for(browser, "search", 1)
    WebDriverWait(browser, 30).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "#judged li")) == len(given)
    )
    for doc, grade in given.items():
        chosen = browser.find_element(
            By.CSS_SELECTOR, f'.column[data-stage="final"] .hit[data-doc="{doc}"] .grade.chosen'
        )
        assert chosen.text == str(grade)


def test_tune_from_judgments_see_the_measures_then_undo(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, index, searcher = served
    titles = {p.title: p.doc_id for p in searcher.backend.passages(index) if p.title}
    judged = [Judgment(title, doc, 3) for title, doc in sorted(titles.items())[:10]]
    searcher.backend.judgments(index).put(judged)  # with the five above: 11 judged queries
    browser.get(f"{url}/_esrerank/workbench/")
    WebDriverWait(browser, 30).until(
        lambda b: "tuning(s) to undo" in b.find_element(By.ID, "tuning-state").text
    )
    click_and_show(browser, "tune", "tuning", "tuned")
    result = browser.find_element(By.ID, "tune-result")
    assert "11 judged queries" in result.text
    rows = result.find_elements(By.CSS_SELECTOR, "tr[data-setting]")
    assert [row.get_attribute("data-setting") for row in rows] == ["fusion", "rerank"]
    assert len(result.find_elements(By.CSS_SELECTOR, "svg rect.bar")) == 8  # 4 strategies x 2
    applied = any(row.get_attribute("data-applied") == "true" for row in rows)
    assert len(searcher.handle.tuning_history()) == (1 if applied else 0)

    searcher.handle.remember_tuning("by hand")  # a change to undo, whatever the guard kept
    searcher.handle.store_fusion(FusionSpec("rrf"), {"tuned_on": "by hand"})
    browser.refresh()
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.ID, "tuning-state").text.startswith(f"Index {index}: rrf")
    )
    browser.find_element(By.ID, "undo").click()
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.ID, "tuning").get_attribute("data-undone") == "1"
    )
    assert "Undone: by hand" in browser.find_element(By.ID, "tune-result").text
    WebDriverWait(browser, 30).until(
        lambda b: not b.find_element(By.ID, "tuning-state").text.startswith(f"Index {index}: rrf")
    )
    assert searcher.handle.stored_fusion().method != "rrf"


def test_compare_the_index_settings_with_the_what_if(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, _, _ = served
    browser.get(f"{url}/_esrerank/workbench/")
    WebDriverWait(browser, 30).until(  # the judged queries fill the list in
        lambda b: b.find_element(By.ID, "compare-queries").get_attribute("value").strip()
    )
    queries = browser.find_element(By.ID, "compare-queries")
    queries.clear()
    queries.send_keys(QUERY, Keys.ENTER, "cancer risk", Keys.ENTER, "protein folding")
    browser.find_element(By.ID, "rerank-weight").send_keys(Keys.END)  # B: weight 1
    click_and_show(browser, "compare-go", "compare", "compare")
    rows = browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
    assert sorted(row.get_attribute("data-query") for row in rows) == sorted(
        [QUERY, "cancer risk", "protein folding"]
    )
    rbos = [float(row.find_elements(By.TAG_NAME, "td")[2].text) for row in rows]
    assert rbos == sorted(rbos)
    assert "mean RBO" in browser.find_element(By.ID, "compare-summary").text


def test_indexed_markup_shows_as_text_and_never_runs(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _, _ = served
    browser.get(f"{url}/_esrerank/workbench/")
    query = browser.find_element(By.ID, "query")
    query.clear()
    query.send_keys("bariatric surgery script colorectal", Keys.ENTER)
    wait_for(browser, "search", 1)
    cards = browser.find_elements(By.CSS_SELECTOR, '.hit[data-pid^="hostile"]')
    assert cards, "the hostile document was not found"
    text = cards[0].find_element(By.CSS_SELECTOR, ".text").text
    assert "<script>window.pwned = 1</script>" in text and "<img src=x" in text
    assert "<b>Bold</b>" in cards[0].find_element(By.CSS_SELECTOR, ".title").text
    assert browser.execute_script("return window.pwned === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#columns script, #columns img, #columns b")


def test_the_picker_lists_the_stores_indices_and_searches_the_one_picked(
    served, browser, bi_encoder, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, index, searcher = served
    other = Searcher(
        None, f"{index}-other", data_dir=searcher.backend.data_dir, bi_encoder=bi_encoder
    )
    corpus = tmp_path / "other.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"_id": f"other-{n}", "title": "Protein folding", "text": text}) + "\n"
            for n, text in enumerate(
                ["Chaperones help proteins fold.", "Misfolded proteins clump."]
            )
        )
    )
    other.ingest(corpus)
    try:
        browser.get(f"{url}/_esrerank/workbench/")
        listed = lambda b: [  # noqa: E731
            o.get_attribute("value") for o in b.find_elements(By.CSS_SELECTOR, "#indices option")
        ]
        WebDriverWait(browser, 30).until(lambda b: len(listed(b)) == 2)
        assert listed(browser) == sorted([index, other.index])
        picker = browser.find_element(By.ID, "index")
        picker.clear()
        picker.send_keys(other.index, Keys.TAB)
        query = browser.find_element(By.ID, "query")
        query.clear()
        query.send_keys("protein folding", Keys.ENTER)
        wait_for(browser, "search", 1)
        assert {pid.split("#")[0] for pid in column(browser, "final")} == {"other-0", "other-1"}
    finally:
        other.backend.delete_index(other.index)
        other.close()
