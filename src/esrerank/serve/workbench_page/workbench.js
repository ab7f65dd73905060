// The workbench page: no framework and nothing from the internet. Indexed text is data: it only
// ever reaches the page as text nodes (textContent), never as markup.
"use strict";

const STAGES = ["bm25", "dense", "fused", "rerank", "final"];
const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("esrerank-key") || "", answer: null, asked: null, calls: {}, grades: {} };
const GRADES = ["0 not relevant", "1 related", "2 relevant", "3 perfect"];

// An element with attributes and children; strings become text nodes.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

// ``text`` with the spans [start, end) wrapped in <mark>.
function marked(text, spans) {
  const part = document.createDocumentFragment();
  let at = 0;
  for (const [start, end] of spans || []) {
    part.append(text.slice(at, start), el("mark", {}, text.slice(start, end)));
    at = end;
  }
  part.append(text.slice(at));
  return part;
}

async function call(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.key) headers.Authorization = `Bearer ${state.key}`;
  const options = body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) };
  const response = await fetch(`api/${path}`, options);
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) {
    $("key-form").hidden = false;
    throw new Error("this server asks for its API key");
  }
  if (!response.ok) throw new Error((answer.error && answer.error.reason) || response.statusText);
  return answer;
}

function settings() {
  const depth = $("rerank-depth").value;
  const share = Number($("bm25-weight").value);
  return {
    rerank_weight: Number($("rerank-weight").value),
    rerank_depth: depth ? Number(depth) : null,
    fusion: {
      method: $("fusion-method").value,
      combination: $("fusion-combination").value,
      weights: [share, Number((1 - share).toFixed(4))],
      rrf_k: Number($("rrf-k").value) || 60,
    },
  };
}

function showSettings(answer) {
  $("rerank-weight").value = answer.rerank_weight;
  $("fusion-method").value = answer.fusion.method;
  $("fusion-combination").value = answer.fusion.combination;
  $("bm25-weight").value = answer.fusion.weights[0] / (answer.fusion.weights[0] + answer.fusion.weights[1]);
  $("rrf-k").value = answer.fusion.rrf_k;
  showValues();
}

function showValues() {
  $("rerank-weight-value").textContent = Number($("rerank-weight").value).toFixed(2);
  $("bm25-weight-value").textContent = Number($("bm25-weight").value).toFixed(2);
  $("fusion-combination").disabled = $("fusion-method").value === "rrf";
  $("rrf-k").disabled = $("fusion-method").value !== "rrf";
}

function format(score) {
  return score === null || score === undefined ? "–" : score.toFixed(4);
}

function card(stage, pid, passage) {
  const ranks = passage.ranks;
  const head = el("div", { class: "head" }, el("span", { class: "rank" }, String(ranks[stage])));
  head.append(el("span", { class: "title" }, marked(passage.title || passage.doc_id, passage.title ? passage.title_marks : [])));
  head.append(el("span", { class: "score", title: `${stage} score` }, format(passage.scores[stage])));
  if (stage === "final") {
    const moved = ranks.fused - ranks.final;
    const arrow = moved > 0 ? `▲${moved}` : moved < 0 ? `▼${-moved}` : "=";
    const kind = moved > 0 ? "up" : moved < 0 ? "down" : "same";
    head.append(el("span", { class: `move ${kind}`, title: `fused rank ${ranks.fused}` }, arrow));
  }
  const stages = el("div", { class: "stages" });
  for (const name of STAGES) {
    const rank = ranks[name];
    stages.append(el("span", { class: `stage ${name}`, title: `${name} score ${format(passage.scores[name])}` },
      `${name} ${rank === null ? "–" : "#" + rank}`));
  }
  const grades = el("div", { class: "grades", role: "group", "aria-label": "judge" });
  GRADES.forEach((label, grade) => {
    const button = el("button", { type: "button", class: "grade", "data-grade": String(grade), title: label }, String(grade));
    button.addEventListener("click", () => judge(passage, grade));
    grades.append(button);
  });
  const item = el("li", { class: "hit", "data-pid": pid, "data-doc": passage.doc_id, tabindex: "0" }, head, stages,
    el("p", { class: "text" }, marked(passage.text, passage.marks)), grades);
  item.addEventListener("keydown", (event) => {
    if (/^[0-3]$/.test(event.key)) judge(passage, Number(event.key));
  });
  const fields = Object.entries(passage.fields || {});
  if (fields.length) {
    const list = el("dl");
    for (const [name, value] of fields) list.append(el("dt", {}, name), el("dd", {}, typeof value === "string" ? value : JSON.stringify(value)));
    item.append(el("details", {}, el("summary", {}, `fields (${fields.length})`), list));
  }
  item.addEventListener("mouseenter", () => highlight(pid, true));
  item.addEventListener("mouseleave", () => highlight(pid, false));
  return item;
}

function highlight(pid, on) {
  for (const node of document.querySelectorAll(".hit")) {
    if (node.dataset.pid === pid) node.classList.toggle("same", on);
  }
}

function showGrades() {
  for (const node of document.querySelectorAll(".hit")) {
    const grade = state.grades[node.dataset.doc];
    node.dataset.grade = grade === undefined ? "" : String(grade);
    for (const button of node.querySelectorAll(".grade")) {
      button.classList.toggle("chosen", Number(button.dataset.grade) === grade);
    }
  }
  const list = $("judged").querySelector("ul");
  const entries = Object.entries(state.grades);
  list.replaceChildren(...entries.map(([doc, grade]) => {
    const remove = el("button", { type: "button", class: "remove", title: "forget this judgment" }, "×");
    remove.addEventListener("click", () => unjudge(doc));
    return el("li", { "data-doc": doc }, el("span", { class: "grade chosen" }, String(grade)), ` ${doc} `, remove);
  }));
  $("judged").querySelector("h2").textContent = `Judged for this query: ${entries.length}`;
}

async function loadGrades() {
  const index = encodeURIComponent(state.asked.index);
  const query = encodeURIComponent(state.asked.query);
  const answer = await call(`judgments?index=${index}&query=${query}`);
  state.grades = Object.fromEntries(answer.judgments.map((j) => [j.doc_id, j.grade]));
  showGrades();
}

async function judge(passage, grade) {
  try {
    await call("judgments", {
      index: state.asked.index, query: state.asked.query,
      doc_id: passage.doc_id, passage_id: passage.passage_id, grade,
    });
    state.grades[passage.doc_id] = grade;
    state.calls.judged = (state.calls.judged || 0) + 1;
    $("judged").dataset.calls = state.calls.judged;
    showGrades();
  } catch (error) {
    failed(error);
  }
}

async function exportJudgments() {
  try {
    const index = $("index").value.trim();
    const answer = await call(`judgments/export?index=${encodeURIComponent(index)}`);
    for (const [path, text] of Object.entries(answer.files)) {
      const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/plain" })),
        download: `${index}-${path.replace("/", "-")}` });
      document.body.append(link);
      link.click();
      link.remove();
    }
  } catch (error) {
    failed(error);
  }
}

async function unjudge(doc) {
  try {
    await call("judgments/delete", { index: state.asked.index, query: state.asked.query, doc_id: doc });
    delete state.grades[doc];
    showGrades();
  } catch (error) {
    failed(error);
  }
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Before and after bars per strategy, nDCG@10 from 0 to 1.
function plot(measures) {
  const names = Object.keys(measures);
  const width = 120 * names.length + 40;
  const chart = svg("svg", { width, height: 196, role: "img", "aria-label": "nDCG@10 before and after" });
  names.forEach((name, column) => {
    ["before", "after"].forEach((when, bar) => {
      const value = measures[name][when];
      const height = Math.round(130 * value);
      const x = 30 + column * 120 + bar * 42;
      chart.append(svg("rect", { x, y: 156 - height, width: 38, height, class: `bar ${when}` }));
      chart.append(svg("text", { x: x + 19, y: 152 - height, "text-anchor": "middle" }, value.toFixed(3)));
    });
    chart.append(svg("text", { x: 30 + column * 120 + 40, y: 174, "text-anchor": "middle" }, name));
  });
  chart.append(svg("text", { x: 30, y: 192 }, "grey: before · blue: after"));
  return chart;
}

function showTuning(record) {
  const box = $("tune-result");
  box.replaceChildren(el("p", {}, `${record.queries} judged queries with a relevant document.`));
  if (!record.decided) {
    box.append(el("p", { class: "verdict" }, record.why));
    return;
  }
  const table = el("table", {}, el("tr", {}, ...["setting", "now", "best tried", "guard", "why", "queries to decide"].map((h) => el("th", {}, h))));
  for (const change of record.changes) {
    const verdict = change.applied ? "kept, applied" : change.kept ? "kept (already set)" : "not kept";
    const needed = change.kept ? "enough" : change.queries_needed ? `about ${change.queries_needed}` : "no gain seen";
    table.append(el("tr", { "data-setting": change.setting, "data-applied": String(change.applied) },
      el("td", {}, change.setting), el("td", {}, change.before), el("td", {}, change.best),
      el("td", {}, verdict), el("td", {}, change.why), el("td", {}, needed)));
  }
  box.append(table, el("p", {}, `${record.measure}:`), plot(record.measures));
  box.append(el("p", { class: "verdict" }, record.applied ? "The kept changes are applied to the index." : "Nothing changed on the index."));
}

async function loadTuning() {
  const tuned = await call(`tuning?index=${encodeURIComponent($("index").value.trim())}`);
  const weight = tuned.ensemble ? "the ensemble" : `rerank weight ${tuned.rerank_weight}`;
  $("tuning-state").textContent = `Index ${tuned.index}: ${tuned.fusion}; ${weight}; ${tuned.history.length} tuning(s) to undo.`;
  $("undo").disabled = tuned.history.length === 0;
}

async function tuneNow() {
  $("tune").disabled = true;
  $("tune-result").replaceChildren(el("p", {}, "Tuning on the judged queries: the cross-encoder scores their pools once (seconds to minutes)…"));
  try {
    const record = await call("tune", { index: $("index").value.trim() });
    showTuning(record);
    state.calls.tuned = (state.calls.tuned || 0) + 1;
    $("tuning").dataset.calls = state.calls.tuned;
    await loadTuning();
  } catch (error) {
    failed(error);
  } finally {
    $("tune").disabled = false;
  }
}

async function undoNow() {
  try {
    const answer = await call("tuning/undo", { index: $("index").value.trim() });
    $("tune-result").replaceChildren(el("p", { class: "verdict" }, `Undone: ${answer.undone.change} (${answer.undone.date}).`));
    state.calls.undone = (state.calls.undone || 0) + 1;
    $("tuning").dataset.undone = state.calls.undone;
    await loadTuning();
  } catch (error) {
    failed(error);
  }
}

function titles(hits) {
  return el("ol", { class: "short" }, ...hits.map((hit) => el("li", { title: hit.passage_id }, hit.title || hit.doc_id)));
}

async function compareNow() {
  const queries = $("compare-queries").value.split("\n").map((q) => q.trim()).filter(Boolean);
  if (!queries.length) return failed(new Error("give at least one query to compare on"));
  $("compare-go").disabled = true;
  $("compare-summary").textContent = `comparing ${queries.length} queries…`;
  try {
    const answer = await call("compare", {
      index: $("index").value.trim(), queries, first: {}, second: settings(),
      size: Number($("size").value) || 10,
    });
    const rows = answer.rows.map((row) => {
      const line = el("tr", { "data-query": row.query },
        el("td", {}, el("a", { href: "#" }, row.query)),
        el("td", {}, row.jaccard.toFixed(3)), el("td", {}, row.rbo.toFixed(3)),
        el("td", {}, titles(row.first)), el("td", {}, titles(row.second)));
      line.querySelector("a").addEventListener("click", (event) => {
        event.preventDefault();
        $("query").value = row.query;
        search(true);
      });
      return line;
    });
    $("compare-table").querySelector("tbody").replaceChildren(...rows);
    $("compare-table").hidden = false;
    $("compare-summary").textContent =
      `${answer.queries} queries · mean Jaccard ${answer.mean_jaccard.toFixed(3)} · mean RBO ${answer.mean_rbo.toFixed(3)}`;
    state.calls.compared = (state.calls.compared || 0) + 1;
    $("compare").dataset.calls = state.calls.compared;
  } catch (error) {
    failed(error);
  } finally {
    $("compare-go").disabled = false;
  }
}

async function loadJudgedQueries() {
  const answer = await call(`judgments?index=${encodeURIComponent($("index").value.trim())}`);
  const queries = [...new Set(answer.judgments.map((j) => j.query))];
  if (!$("compare-queries").value.trim()) $("compare-queries").value = queries.join("\n");
}

function render(answer) {
  for (const column of document.querySelectorAll(".column")) {
    const stage = column.dataset.stage;
    const list = column.querySelector("ol");
    list.replaceChildren(...answer.columns[stage].map((pid) => card(stage, pid, answer.passages[pid])));
  }
  const rerank = answer.reranked
    ? `reranked by ${answer.reranker} (${answer.reranker_runtime}), weight ${answer.rerank_weight}, ` +
      `${answer.rerank_scored} of ${answer.rerank_pool} scored, ${answer.model_pairs} by the model now`
    : `not reranked: ${answer.rerank_reason}`;
  $("status").textContent = `${answer.fusion_described} · ${rerank} · ${answer.took_ms} ms on the server`;
  $("status").dataset.modelPairs = answer.model_pairs;
  $("status").dataset.tookMs = answer.took_ms;
  for (const warning of answer.warnings) $("status").append(el("span", { class: "warning" }, ` ⚠ ${warning}`));
}

function failed(error) {
  $("error").textContent = error.message;
  $("error").hidden = false;
}

async function search(whatIf) {
  const started = performance.now();
  $("error").hidden = true;
  let filter;
  try {
    filter = $("filter").value.trim() ? JSON.parse($("filter").value) : undefined;
  } catch (error) {
    return failed(new Error(`the filter is not JSON: ${error.message}`));
  }
  const asked = {
    index: $("index").value.trim(),
    query: $("query").value,
    size: Number($("size").value) || 10,
    filter,
    reuse: whatIf,
    settings: whatIf ? settings() : {},
  };
  document.body.classList.add("busy");
  try {
    const answer = await call("search", asked);
    state.answer = answer;
    state.asked = asked;
    if (!whatIf) showSettings(answer);
    render(answer);
    if (whatIf) showGrades();
    else await loadGrades();
    const kind = whatIf ? "what-if" : "search";
    const drawn = performance.now() - started;
    state.calls[kind] = (state.calls[kind] || 0) + 1;
    $("status").dataset.drawnMs = drawn.toFixed(1);
    $("status").dataset.kind = kind;
    $("status").dataset.calls = state.calls[kind];
    $("status").append(` · ${kind} drawn in ${drawn.toFixed(0)} ms`);
  } catch (error) {
    failed(error);
  } finally {
    document.body.classList.remove("busy");
  }
}

function whatIf() {
  showValues();
  if (state.answer) search(true);
}

async function loadConfig() {
  try {
    const config = await call("config");
    if (!$("index").value) $("index").value = config.index;
    $("indices").replaceChildren(...config.indices.map((name) => el("option", { value: name })));
    $("size").value = config.page_size;
    await loadTuning();
    await loadJudgedQueries();
  } catch (error) {
    failed(error);
  }
}

function start() {
  $("search").addEventListener("submit", (event) => { event.preventDefault(); search(false); });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("key").value;
    sessionStorage.setItem("esrerank-key", state.key);
    $("key-form").hidden = true;
    $("error").hidden = true;
    loadConfig();
  });
  for (const id of ["rerank-weight", "bm25-weight"]) $(id).addEventListener("input", showValues);
  for (const id of ["rerank-weight", "bm25-weight", "rerank-depth", "fusion-method", "fusion-combination", "rrf-k"]) {
    $(id).addEventListener("change", whatIf);
  }
  $("reset").addEventListener("click", () => { if (state.answer) search(false); });
  $("tune").addEventListener("click", tuneNow);
  $("compare-go").addEventListener("click", compareNow);
  $("export").addEventListener("click", exportJudgments);
  $("undo").addEventListener("click", undoNow);
  $("index").addEventListener("change", () => Promise.all([loadTuning(), loadJudgedQueries()]).catch(failed));
  loadConfig();
}

document.addEventListener("DOMContentLoaded", start, { once: true });
