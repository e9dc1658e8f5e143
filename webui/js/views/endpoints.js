// Endpoints: the containers sluice-cni wired, with their names, labels,
// identities, addresses, published ports and counters, refreshed every
// few seconds; a text filter narrows them by name, label or address.
import * as api from "../api.js";
import { clear, h, number, table } from "../dom.js";

const REFRESH_MS = 5000;

function labelChips(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return h("span", { class: "muted" }, "-");
  return entries.map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`));
}

function ports(list) {
  return (list || []).map((p) => `${p.host_ip ? `${p.host_ip}:` : ""}${p.host_port} -> ${p.container_port}/${p.proto}`).join(", ") || "-";
}

function matches(e, text) {
  if (!text) return true;
  const hay = [e.name, e.container_id, e.network, ...e.addresses,
    ...Object.entries(e.labels || {}).map(([k, v]) => `${k}=${v}`)].join(" ").toLowerCase();
  return hay.includes(text.toLowerCase());
}

export async function showEndpoints(main, params) {
  const filter = h("input", { name: "filter", value: params.get("filter") || "", size: 20, "aria-label": "Filter" });
  const form = h("form", { class: "filters", role: "search" }, h("label", {}, "Name, label or address", filter));
  const summary = h("p", { class: "muted", id: "endpoints-summary", role: "status" });
  const list = h("div", { id: "endpoints" });
  clear(main, h("h1", {}, "Endpoints"), form, summary, list);
  let last = [];

  function draw() {
    const shown = last.filter((e) => matches(e, filter.value));
    summary.textContent = last.length ? `${shown.length} of ${last.length} containers` :
      "No containers are wired. Containers get here through sluice-cni (docs/cni.md).";
    clear(list, table(["Name", "Network", "Addresses", "Labels", "Identity", "Published", "Host end", "Attached",
      h("th", { scope: "col", class: "num" }, "Packets from"), h("th", { scope: "col", class: "num" }, "Packets to")],
    shown.map((e) => h("tr", { dataset: { name: e.name } },
      h("td", {}, h("a", { href: `#/flows${api.query({ address: e.addresses[0] })}` }, e.name)),
      h("td", {}, e.network),
      h("td", {}, e.addresses.join(", ")),
      h("td", {}, labelChips(e.labels)),
      h("td", { class: "num" }, e.identity ? String(e.identity) : "-"),
      h("td", {}, ports(e.ports)),
      h("td", {}, e.host_end),
      h("td", { class: e.attached ? "ok" : "error" }, e.attached ? "yes" : "no"),
      h("td", { class: "num" }, number(e.packets_from)),
      h("td", { class: "num" }, number(e.packets_to)))), { id: "endpoints-table" }));
  }
  async function load() {
    last = (await api.get("/api/v1/endpoints")).endpoints;
    draw();
  }
  filter.addEventListener("input", draw);
  form.addEventListener("submit", (ev) => ev.preventDefault());
  await load();
  const timer = setInterval(() => load().catch(() => {}), REFRESH_MS);
  return () => clearInterval(timer);
}
