// Live flows: the newest matching flows, then every new one as the server
// streams it (server-sent events), with filters, pause/resume, verdict
// colours, and the deciding rule linked to its row on the Rules page.
import * as api from "../api.js";
import { clear, endpoint, h, table, time } from "../dom.js";

const MAX_ROWS = 500;
const VERDICTS = ["", "allowed", "dropped", "rejected", "audit", "translated", "closed"];
const L7_KINDS = [["", "any"], ["yes", "L7 only"], ["no", "no L7"], ["http", "http"],
  ["websocket", "websocket"], ["tls", "tls"], ["http2", "http2"]];

// What the L7 proxy saw: the request (or TLS server name) and its answer.
export function l7Text(l7) {
  if (!l7) return "";
  const what = l7.kind === "tls" ? `tls ${l7.sni || "(no name)"}` :
    [l7.method, l7.host, l7.path].filter(Boolean).join(" ") || l7.kind;
  const ms = (l7.latency_us / 1000).toFixed(l7.latency_us < 10000 ? 1 : 0);
  return `${what}${l7.status ? ` \u2192 ${l7.status}` : ""} (${ms} ms)`;
}

// The container or pod at an address ("x/a2 (pod=a2, ...)"), under it.
function workload(name) {
  return name ? h("div", { class: "workload" }, name) : "";
}

function row(f) {
  const rule = f.rule === "" ? h("span", { class: "muted" }, "-") :
    h("a", { href: `#/rules?rule=${encodeURIComponent(f.rule)}`, class: "rule-link" },
      f.rule_at ? `${f.rule} (line ${f.rule_at.line})` : f.rule);
  const nat = f.nat ? `${f.nat.kind === "masquerade" ? "as" : "via"} ${endpoint(f.nat.addr, f.nat.port)}` : "";
  const why = f.reason || (f.action ? `would ${f.action}` : "") ||
    (f.duration_ms !== undefined ? `${f.packets[0]}/${f.packets[1]} pkts, ${f.duration_ms} ms` : "");
  return h("tr", { class: `row-${f.verdict}`, dataset: { id: f.id, verdict: f.verdict, rule: f.rule } },
    h("td", {}, time(f.time_ms)),
    h("td", { class: `verdict verdict-${f.verdict}` }, f.verdict),
    h("td", {}, rule),
    h("td", {}, f.chain || "-"),
    h("td", {}, f.proto),
    h("td", {}, endpoint(f.src, f.sport), workload(f.src_workload)),
    h("td", {}, endpoint(f.dst, f.dport), workload(f.dst_workload)),
    h("td", {}, nat),
    h("td", {}, f.interface),
    h("td", { class: "l7" }, l7Text(f.l7)),
    h("td", {}, why));
}

export async function showFlows(main, params) {
  const field = (name, label, attrs = {}) => h("label", {}, label, h("input", { name, value: params.get(name) || "", ...attrs }));
  const verdict = h("select", { name: "verdict" }, VERDICTS.map((v) =>
    h("option", { value: v, selected: params.get("verdict") === v }, v || "any")));
  const form = h("form", { class: "filters", id: "flow-filters", role: "search" },
    field("address", "Address", { inputmode: "text", size: 16 }),
    field("port", "Port", { inputmode: "numeric", size: 6 }),
    h("label", {}, "Verdict", verdict),
    field("rule", "Rule", { size: 14 }),
    h("label", {}, "L7", h("select", { name: "l7" }, L7_KINDS.map(([v, text]) =>
      h("option", { value: v, selected: params.get("l7") === v }, text)))),
    h("button", { type: "submit" }, "Filter"));
  const pause = h("button", { type: "button", class: "secondary", id: "pause", "aria-pressed": "false" }, "Pause");
  const state = h("span", { class: "muted", id: "stream-state", role: "status" }, "connecting...");
  const body = h("tbody", { id: "flow-rows" });
  const tableEl = table(["Time", "Verdict", "Rule", "Chain", "Proto", "Source", "Destination", "NAT", "Interface", "L7", "Why"], []);
  tableEl.querySelector("table").id = "flows";
  tableEl.querySelector("tbody").replaceWith(body);
  clear(main, h("h1", {}, "Live flows"), form, h("div", { class: "toolbar" }, pause, state), tableEl);

  const filters = {};
  for (const k of ["address", "port", "verdict", "rule", "l7"]) if (params.get(k)) filters[k] = params.get(k);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = {};
    for (const [k, v] of new FormData(form)) if (v) q[k] = v;
    location.hash = `#/flows${api.query(q)}`;  // the router shows the view again with them
  });

  let paused = false, held = [];
  function show(flows) {
    for (const f of flows) body.prepend(row(f));
    while (body.children.length > MAX_ROWS) body.lastChild.remove();
  }
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) { show(held); held = []; }
    state.textContent = paused ? "paused (new flows are held)" : "live";
  });

  let first;
  try {
    first = await api.get(`/api/v1/flows${api.query({ ...filters, newest: "true", limit: 100 })}`);
  } catch (e) {
    state.textContent = `filter refused: ${e.message}`;
    state.className = "error";
    return () => {};
  }
  show(first.flows);
  const source = new EventSource(`/api/v1/flows/stream${api.query(filters)}`);
  source.onopen = () => { if (!paused) state.textContent = "live"; };
  source.onerror = () => { state.textContent = "reconnecting..."; };
  source.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.id <= first.last_id) return;  // already shown from the first page
    if (paused) { held.push(f); state.textContent = `paused (${held.length} new flows held)`; } else show([f]);
  };
  return () => source.close();
}
