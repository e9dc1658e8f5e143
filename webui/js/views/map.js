// Map: who talks to whom, live. Nodes are the wired containers (by name),
// this host (what the input chain receives and the output chain sends)
// and the outside (every other address); edges are the flows between
// them, allowed and denied apart, each labelled with the rules that
// decided them and how many flows. Built from the recent flows, then kept
// up to date from the flow stream; the table under the map says the same
// in words.
import * as api from "../api.js";
import { clear, h, number, svg, table, time } from "../dom.js";

const HOST = "this host", OUTSIDE = "outside";
const W = 1000, H = 560, R = 26;
const KINDS = { allowed: "allowed", dropped: "denied", rejected: "denied", audit: "audit" };

// "web-1 (app=web)" -> "web-1"; "(app=web)" (gone, identity known) stays.
function workloadName(text) {
  if (!text) return "";
  const cut = text.indexOf(" (");
  return cut > 0 ? text.slice(0, cut) : text;
}

function nodeOf(f, end) {
  const name = workloadName(end === "src" ? f.src_workload : f.dst_workload);
  if (name) return name;
  if ((f.chain === "input" && end === "dst") || (f.chain === "output" && end === "src")) return HOST;
  return OUTSIDE;
}

// Link-local and multicast chatter (neighbour discovery, mDNS) is not
// anyone talking to anyone.
function chatter(f) {
  const d = f.dst || "";
  return /^(ff|fe80)/i.test(d) || /^(22[4-9]|23\d)\./.test(d) || d === "255.255.255.255" || /^fe80/i.test(f.src || "");
}

export async function showMap(main) {
  const hide = h("input", { type: "checkbox", name: "hide-chatter", checked: true });
  const state = h("span", { class: "muted", id: "map-state", role: "status" }, "connecting...");
  const picture = h("div", { class: "map-wrap" });
  const list = h("div", { id: "map-edges" });
  clear(main, h("h1", {}, "Map"),
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, hide, "Hide link-local and multicast"), state),
    h("p", { class: "legend" }, h("span", { class: "allowed" }, "allowed"), h("span", { class: "dropped" }, "denied"),
      h("span", { class: "audit" }, "audit (would be denied)")),
    picture, h("h2", {}, "Who talks to whom"), list);

  const nodes = new Set([HOST, OUTSIDE]);
  const edges = new Map();
  const flows = [];

  function add(f) {
    const kind = KINDS[f.verdict];
    if (!kind) return;  // translations and ended flows repeat a flow already counted
    flows.push(f);
    if (hide.checked && chatter(f)) return;
    const src = nodeOf(f, "src"), dst = nodeOf(f, "dst");
    nodes.add(src);
    nodes.add(dst);
    const key = `${src}\u0000${dst}\u0000${kind}`;
    let e = edges.get(key);
    if (!e) edges.set(key, e = { src, dst, kind, count: 0, rules: new Map(), l7: new Map(), last: 0 });
    e.count++;
    e.rules.set(f.rule || "-", (e.rules.get(f.rule || "-") || 0) + 1);
    // The L7 proxy's verdicts: each request kind with its answer.
    if (f.l7) {
      const what = f.l7.kind === "tls" ? `tls ${f.l7.sni || "?"}` :
        `${f.l7.method || f.l7.kind} ${f.l7.path || ""}${f.l7.status ? ` \u2192 ${f.l7.status}` : ""}`;
      e.l7.set(what, (e.l7.get(what) || 0) + 1);
    }
    e.last = Math.max(e.last, f.time_ms);
  }

  function rebuild() {
    edges.clear();
    const all = flows.splice(0);
    for (const f of all) add(f);
  }

  // This host in the middle, the containers on an ellipse around it, the
  // outside on the right.
  function positions() {
    const names = [...nodes].filter((n) => n !== HOST && n !== OUTSIDE).sort();
    const cx = W * 0.42, cy = H / 2;
    const at = new Map([[HOST, { x: cx, y: cy }], [OUTSIDE, { x: W - 90, y: cy }]]);
    names.forEach((n, i) => {
      const a = (2 * Math.PI * i) / Math.max(names.length, 1) - Math.PI / 2;
      at.set(n, { x: cx + W * 0.3 * Math.cos(a), y: cy + H * 0.36 * Math.sin(a) });
    });
    return at;
  }

  function rulesText(e) {
    return [...e.rules].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} (${number(n)})`).join(", ");
  }
  function l7Text(e) {
    return [...e.l7].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([w, n]) => `${w} (${number(n)})`).join(", ");
  }

  function draw() {
    const at = positions();
    const defs = svg("defs", {}, ["allowed", "denied", "audit"].map((k) =>
      svg("marker", { id: `arrow-${k}`, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: `arrow-${k}` }))));
    const edgeEls = [...edges.values()].map((e) => {
      const a = at.get(e.src), b = at.get(e.dst);
      let d, lx, ly;
      if (e.src === e.dst) {  // through the router, outside to outside: allowed above, denied below
        const up = e.kind === "allowed" ? -1 : 1;
        d = `M ${a.x - 12} ${a.y + up * R} C ${a.x - 60} ${a.y + up * 110}, ${a.x + 60} ${a.y + up * 110}, ${a.x + 12} ${a.y + up * R}`;
        lx = a.x; ly = a.y + up * 100;
      } else {
        // Allowed and denied edges of a pair bend to opposite sides.
        const bend = e.kind === "allowed" ? 40 : e.kind === "denied" ? -40 : 0;
        const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
        const ux = dx / len, uy = dy / len;
        const sx = a.x + ux * R, sy = a.y + uy * R, ex = b.x - ux * R, ey = b.y - uy * R;
        const cx = (sx + ex) / 2 - uy * bend, cy = (sy + ey) / 2 + ux * bend;
        d = `M ${sx} ${sy} Q ${cx} ${cy} ${ex} ${ey}`;
        lx = (sx + 2 * cx + ex) / 4; ly = (sy + 2 * cy + ey) / 4;
      }
      const label = `${[...e.rules.keys()].slice(0, 2).join(", ")}${e.rules.size > 2 ? ", ..." : ""} (${number(e.count)})`;
      return svg("g", { class: `edge edge-${e.kind}`, dataset: { src: e.src, dst: e.dst, kind: e.kind } },
        svg("title", {}, `${e.src} -> ${e.dst}: ${e.kind} by ${rulesText(e)}${e.l7.size ? `; L7: ${l7Text(e)}` : ""}`),
        svg("path", { d, "marker-end": `url(#arrow-${e.kind})` }),
        svg("text", { x: lx, y: ly, "text-anchor": "middle" }, label));
    });
    const nodeEls = [...at].map(([name, p]) => svg("g", { class: `node ${name === HOST ? "node-host" : name === OUTSIDE ? "node-outside" : "node-endpoint"}`, dataset: { name } },
      name === HOST ? svg("rect", { x: p.x - R, y: p.y - R, width: 2 * R, height: 2 * R, rx: 6 }) :
        svg("circle", { cx: p.x, cy: p.y, r: R }),
      svg("text", { x: p.x, y: p.y + R + 16, "text-anchor": "middle" }, name)));
    clear(picture, svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "map", id: "map", role: "img",
      "aria-label": "Flows between containers, this host and the outside" }, defs, edgeEls, nodeEls));
    const rows = [...edges.values()].sort((x, y) => y.last - x.last).map((e) =>
      h("tr", { dataset: { src: e.src, dst: e.dst, kind: e.kind } },
        h("td", {}, e.src), h("td", {}, e.dst),
        h("td", { class: `verdict verdict-${e.kind === "denied" ? "dropped" : e.kind}` }, e.kind),
        h("td", {}, rulesText(e)), h("td", { class: "l7" }, l7Text(e)),
        h("td", { class: "num" }, number(e.count)), h("td", {}, time(e.last))));
    clear(list, rows.length ? table(["From", "To", "Verdict", "Deciding rules (flows)", "L7 requests", "Flows", "Last"], rows, { id: "map-table" }) :
      h("p", { class: "muted" }, "No flows yet."));
  }

  let pending = false;
  function soon() {
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; draw(); }, 300);
  }
  hide.addEventListener("change", () => { rebuild(); draw(); });

  async function loadEndpoints() {
    for (const e of (await api.get("/api/v1/endpoints")).endpoints) nodes.add(e.name);
  }
  await loadEndpoints();
  const first = await api.get(`/api/v1/flows${api.query({ newest: "true", limit: 1000 })}`);
  for (const f of first.flows) add(f);
  draw();
  const source = new EventSource("/api/v1/flows/stream");
  source.onopen = () => { state.textContent = "live"; };
  source.onerror = () => { state.textContent = "reconnecting..."; };
  source.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.id <= first.last_id) return;
    add(f);
    soon();
  };
  const timer = setInterval(() => loadEndpoints().then(soon).catch(() => {}), 10000);
  return () => { source.close(); clearInterval(timer); };
}
