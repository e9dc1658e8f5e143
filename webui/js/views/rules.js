// Rules: the live ruleset per chain in evaluation order with hit counters
// updating, the TOML editor (validated as you type, errors pinned to line
// and column), the rule-by-rule diff, apply with an optional confirm
// deadline, confirm, rollback, and the history of applied versions.
import * as api from "../api.js";
import { clear, dateTime, h, notice, number, table } from "../dom.js";

const CHAINS = ["input", "forward", "output"];

export async function showRules(main, params) {
  const wanted = params.get("rule");
  const tables = h("div", { id: "rules-tables" });
  const editorSection = h("section", { class: "panel", id: "editor-panel" });
  const historySection = h("section", { class: "panel", id: "history-panel" });
  clear(main, h("h1", {}, "Rules"), tables, editorSection, historySection);

  // --- the live ruleset ---------------------------------------------------
  let highlighted = false;
  async function refreshRules() {
    const r = await api.get("/api/v1/rules");
    const parts = [];
    for (const chain of CHAINS) {
      const rows = r.rules.filter((x) => x.chain === chain).map((x) => h("tr", {
        id: `rule-${x.name}`, class: x.name === wanted ? "highlight" : null, tabindex: x.name === wanted ? "-1" : null,
        dataset: { rule: x.name },
      },
      h("td", { class: "num" }, x.index), h("td", {}, x.name), h("td", {}, x.from), h("td", {}, x.to),
      h("td", {}, x.match), h("td", {}, x.action), h("td", {}, x.mode), h("td", { class: "num" }, x.source === "kubernetes" ? "kubernetes" : `line ${x.line}`),
      h("td", { class: "num hits" }, number(x.packets)), h("td", { class: "num" }, number(x.bytes))));
      const d = r.defaults.find((x) => x.chain === chain);
      rows.push(h("tr", { id: `rule-default-${chain}`, class: wanted === "default" ? "highlight" : null },
        h("td", { class: "num" }, "-"), h("td", {}, "(default)"), h("td", {}), h("td", {}), h("td", {}),
        h("td", {}, d.action), h("td", {}, d.mode), h("td", {}), h("td", { class: "num hits" }, number(d.packets)),
        h("td", { class: "num" }, number(d.bytes))));
      parts.push(h("h2", {}, `${chain} chain`), table(["#", "Name", "From", "To", "Match", "Action", "Mode", "Where",
        h("th", { class: "num", scope: "col" }, "Packets"), h("th", { class: "num", scope: "col" }, "Bytes")], rows,
      { class: "rules", dataset: { chain } }));
    }
    clear(tables, parts);
    if (wanted && !highlighted) {
      const row = document.getElementById(`rule-${wanted}`);
      if (row) { row.scrollIntoView({ block: "center" }); row.focus({ preventScroll: true }); highlighted = true; }
    }
  }

  // --- the editor ---------------------------------------------------------
  const config = await api.get("/api/v1/config");
  const gutter = h("pre", { class: "gutter", "aria-hidden": "true" });
  const text = h("textarea", { id: "config-text", spellcheck: "false", "aria-label": `Configuration (${config.path})`,
    autocomplete: "off", autocapitalize: "off" });
  text.value = config.text;
  const status = h("p", { id: "validation", role: "status" });
  const diagnostics = h("ul", { class: "diagnostics", id: "diagnostics" });
  const changes = h("div", { id: "changes" });
  const confirmWithin = h("select", { id: "confirm-within" },
    h("option", { value: "" }, "no"), h("option", { value: "30" }, "30 s"), h("option", { value: "120" }, "2 min"),
    h("option", { value: "600" }, "10 min"));
  const diffButton = h("button", { type: "button", class: "secondary", id: "diff" }, "Show diff");
  const applyButton = h("button", { type: "button", id: "apply" }, "Apply");
  const confirmButton = h("button", { type: "button", id: "confirm", hidden: true }, "Confirm");
  const rollbackButton = h("button", { type: "button", class: "danger", id: "rollback" }, "Roll back");
  const countdown = h("span", { class: "countdown", id: "countdown", role: "timer" });
  clear(editorSection,
    h("h2", {}, "Edit the configuration"),
    h("p", { class: "muted" }, `${config.path}: checked as you type; apply replaces the file and goes live atomically.`),
    h("div", { class: "editor" }, gutter, text),
    status, diagnostics,
    h("div", { class: "toolbar" }, diffButton, h("label", {}, "Roll back unless confirmed within", confirmWithin), applyButton,
      confirmButton, rollbackButton, countdown),
    changes);

  let errorLines = new Set();
  function drawGutter() {
    const lines = text.value.split("\n").length;
    clear(gutter, Array.from({ length: lines }, (_, i) =>
      h("span", { class: errorLines.has(i + 1) ? "bad" : null }, `${i + 1}\n`)));
    gutter.scrollTop = text.scrollTop;
  }
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });

  function goTo(line, column) {
    const lines = text.value.split("\n");
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    pos += Math.max(0, column - 1);
    text.focus();
    text.setSelectionRange(pos, pos);
  }

  let valid = true;
  async function validate() {
    try {
      const r = await api.post("/api/v1/config/validate", { text: text.value });
      valid = true;
      errorLines = new Set();
      status.className = "ok";
      status.textContent = `Valid: ${number(r.rules)} rules.`;
      clear(diagnostics);
    } catch (e) {
      if (e.status !== 422) { status.className = "error"; status.textContent = e.message; return; }
      valid = false;
      const diags = e.body.diagnostics || [];
      errorLines = new Set(diags.map((d) => d.line));
      status.className = "error";
      status.textContent = `${diags.length} error(s); nothing can be applied until they are fixed.`;
      clear(diagnostics, diags.map((d) => h("li", {},
        h("button", { type: "button", onclick: () => goTo(d.line, d.column), dataset: { line: d.line, column: d.column } },
          `line ${d.line}, column ${d.column}`), `: ${d.key ? d.key + ": " : ""}${d.message}`)));
    }
    applyButton.disabled = diffButton.disabled = !valid;
    drawGutter();
  }
  let pending;
  text.addEventListener("input", () => {
    drawGutter();
    clearTimeout(pending);
    pending = setTimeout(validate, 300);
  });

  function showChanges(list, title) {
    clear(changes, h("h3", {}, title), list.length ?
      h("ul", { class: "changes" }, list.map((c) => h("li", { class: `change-${c.kind}` }, `${c.kind} ${c.what}: ${c.detail}`))) :
      h("p", { class: "muted" }, "No changes."));
  }
  diffButton.addEventListener("click", async () => {
    try {
      const r = await api.post("/api/v1/config/diff", { text: text.value });
      showChanges(r.changes, "What applying would change");
    } catch (e) { notice(e.message); }
  });

  let deadline = null, timer = null;
  function startCountdown(seconds) {
    epoch++;
    deadline = Date.now() + seconds * 1000;
    confirmButton.hidden = false;
    clearInterval(timer);
    const tickDown = () => {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdown.textContent = left ? `Rolls back in ${left} s unless confirmed` : "Rolled back (not confirmed in time)";
      if (!left) { clearInterval(timer); confirmButton.hidden = true; refreshAll(); }
    };
    tickDown();
    timer = setInterval(tickDown, 250);
  }
  function stopCountdown(message) {
    epoch++;
    clearInterval(timer);
    deadline = null;
    confirmButton.hidden = true;
    countdown.textContent = message || "";
  }

  applyButton.addEventListener("click", async () => {
    const body = { text: text.value };
    if (confirmWithin.value) body.confirm_within_seconds = Number(confirmWithin.value);
    try {
      const r = await api.post("/api/v1/config/apply", body);
      showChanges(r.changes, `Applied as version ${r.version}`);
      notice(`Applied (version ${r.version}).`);
      if (r.confirm_within_seconds) startCountdown(r.confirm_within_seconds); else stopCountdown();
      await refreshAll();
    } catch (e) {
      if (e.status === 422) await validate();
      notice(`Not applied: ${e.message}`);
    }
  });
  confirmButton.addEventListener("click", async () => {
    try { await api.post("/api/v1/config/confirm"); stopCountdown("Confirmed."); notice("Confirmed: the ruleset stays."); } catch (e) { notice(e.message); }
  });
  rollbackButton.addEventListener("click", async () => {
    try {
      await api.post("/api/v1/config/rollback");
      stopCountdown("Rolled back.");
      notice("Rolled back to the previous ruleset.");
      text.value = (await api.get("/api/v1/config")).text;
      await refreshAll();
      await validate();
    } catch (e) { notice(`Not rolled back: ${e.message}`); }
  });

  // --- history ------------------------------------------------------------
  const versionView = h("div", { id: "version" });
  async function refreshHistory() {
    const r = await api.get("/api/v1/config/history?limit=20");
    clear(historySection, h("h2", {}, "History"), table(["Version", "When", "By", "Changes", ""],
      r.versions.map((v) => h("tr", {},
        h("td", { class: "num" }, v.id), h("td", {}, dateTime(v.time_ms)), h("td", {}, v.author),
        h("td", {}, v.diff ? `${v.diff.trim().split("\n").length} change(s)` : "none"),
        h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => showVersion(v.id) }, "Show")))),
      { id: "history" }), versionView);
  }
  async function showVersion(id) {
    const v = (await api.get(`/api/v1/config/history/${id}`)).version;
    clear(versionView, h("h3", {}, `Version ${v.id} by ${v.author}, ${dateTime(v.time_ms)}`),
      h("div", { class: "split" },
        h("div", {}, h("h4", {}, "Changes"), v.diff ? h("ul", { class: "changes" },
          v.diff.trim().split("\n").map((l) => h("li", { class: `change-${l.split(" ")[0]}` }, l))) : h("p", { class: "muted" }, "none")),
        h("div", {}, h("h4", {}, "Text"), h("pre", { class: "text" }, v.text))));
  }

  // Bumped by every apply, confirm and rollback: a status read before one
  // of them must not restart a countdown it ended.
  let epoch = 0;
  async function refreshAll() {
    const asked = epoch;
    await Promise.all([refreshRules(), refreshHistory()]);
    const s = await api.get("/api/v1/status");
    if (asked === epoch && s.confirm_within_seconds !== undefined && !deadline) startCountdown(s.confirm_within_seconds);
  }

  drawGutter();
  await Promise.all([refreshAll(), validate()]);
  const counters = setInterval(() => refreshRules().catch(() => {}), 2000);
  return () => { clearInterval(counters); clearInterval(timer); clearTimeout(pending); };
}
