// Connections: the conntrack table, filterable by address, with each
// flow's translation (masquerade, port forward), paged.
import * as api from "../api.js";
import { clear, endpoint, h, number, table } from "../dom.js";

const PAGE = 100;

export async function showConnections(main, params) {
  const filter = h("input", { name: "filter", value: params.get("filter") || "", size: 20, "aria-label": "Address" });
  const form = h("form", { class: "filters", role: "search" }, h("label", {}, "Address", filter),
    h("button", { type: "submit" }, "Filter"));
  const summary = h("p", { class: "muted", id: "conntrack-summary", role: "status" });
  const list = h("div", { id: "conntrack" });
  const prev = h("button", { type: "button", class: "secondary" }, "Previous");
  const next = h("button", { type: "button", class: "secondary" }, "Next");
  const refresh = h("button", { type: "button", class: "secondary" }, "Refresh");
  clear(main, h("h1", {}, "Connections"), form, h("div", { class: "toolbar" }, prev, next, refresh), summary, list);
  let offset = 0;

  async function load() {
    let r;
    try {
      r = await api.get(`/api/v1/conntrack${api.query({ filter: filter.value, offset, limit: PAGE })}`);
    } catch (e) {
      // Say why instead of leaving the last page up: a refused filter (400,
      // not an address) or whatever else kept the table from loading.
      summary.textContent = `${e.status === 400 ? "filter refused" : "could not load the table"}: ${e.message}`;
      summary.className = "error";
      clear(list);
      return;
    }
    summary.className = "muted";
    summary.textContent = r.total ? `${number(offset + 1)}-${number(offset + r.entries.length)} of ${number(r.total)} tracked flows` :
      "No tracked flows match.";
    prev.disabled = offset === 0;
    next.disabled = offset + PAGE >= r.total;
    const proto = (p) => ({ 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" }[p] || String(p));
    clear(list, table(["Proto", "Source", "Destination", "NAT", "State", "Packets", "Bytes", "Rule", "Age"],
      r.entries.map((e) => h("tr", {},
        h("td", {}, proto(e.proto)), h("td", {}, endpoint(e.src, e.sport)), h("td", {}, endpoint(e.dst, e.dport)),
        h("td", {}, [e.nat.masquerade ? `masq as ${endpoint(e.nat.masquerade.addr, e.nat.masquerade.port)}` : "",
          e.nat.port_forward ? `fwd from ${endpoint(e.nat.port_forward.addr, e.nat.port_forward.port)}` : ""]
          .filter(Boolean).join(", ") || "-"),
        h("td", {}, e.state), h("td", { class: "num" }, `${number(e.packets[0])} / ${number(e.packets[1])}`),
        h("td", { class: "num" }, `${number(e.bytes[0])} / ${number(e.bytes[1])}`),
        h("td", {}, h("a", { href: `#/rules?rule=${encodeURIComponent(e.rule.startsWith("default") ? "default" : e.rule)}` }, e.rule)),
        h("td", { class: "num" }, `${e.age_seconds} s`))), { id: "conntrack-table" }));
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; load().catch(() => {}); });
  prev.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load().catch(() => {}); });
  next.addEventListener("click", () => { offset += PAGE; load().catch(() => {}); });
  refresh.addEventListener("click", () => load().catch(() => {}));
  await load();
  return () => {};
}
