// Overview: interfaces with their rates, the ruleset and who applied it,
// conntrack fill, lost events, and a live graph of allowed and dropped
// packets per second.
import * as api from "../api.js";
import { RateChart } from "../chart.js";
import { ago, bytes, clear, dateTime, h, number, table } from "../dom.js";

function card(label, value, sub) {
  return h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value),
    sub ? h("div", { class: "sub" }, sub) : null);
}

export async function showOverview(main) {
  const cards = h("div", { class: "cards", id: "overview-cards" });
  const canvas = h("canvas", { class: "chart", role: "img", "aria-label": "allowed and dropped packets per second, last minute" });
  const rateText = h("p", { class: "muted", id: "rates" });
  const interfaces = h("div", { id: "interfaces" });
  clear(main,
    h("h1", {}, "Overview"),
    cards,
    h("section", { class: "panel" },
      h("h2", {}, "Packets per second"),
      h("div", { class: "legend" }, h("span", { class: "allowed" }, "allowed"), h("span", { class: "dropped" }, "dropped")),
      canvas, rateText),
    h("section", {}, h("h2", {}, "Interfaces"), interfaces));
  const chart = new RateChart(canvas);
  let last = null;

  async function tick() {
    const [status, itfs, history] = await Promise.all([
      api.get("/api/v1/status"), api.get("/api/v1/interfaces"), api.get("/api/v1/config/history?limit=1").catch(() => null),
    ]);
    const now = performance.now();
    const drops = status.packets.dropped, passed = status.packets.allowed;
    if (last) {
      const dt = (now - last.t) / 1000;
      const allowedRate = (passed - last.passed) / dt, droppedRate = (drops - last.drops) / dt;
      chart.push(allowedRate, droppedRate);
      rateText.textContent = `now: ${number(Math.round(allowedRate))} allowed/s, ${number(Math.round(droppedRate))} dropped/s`;
    }
    const version = history && history.versions && history.versions[0];
    const lost = status.events_lost.ring_full + status.events_lost.rate_limited + status.flows.history.lost;
    const fill = (100 * status.conntrack_entries) / status.conntrack_capacity;
    clear(cards,
      card("Ruleset", `${number(status.rules)} rules`,
        version ? `version ${version.id}, applied ${dateTime(version.time_ms)} by ${version.author}` :
          `applied ${ago(status.applied_seconds_ago)}`),
      card("Conntrack", `${fill.toFixed(1)} %`, `${number(status.conntrack_entries)} of ${number(status.conntrack_capacity)} flows`),
      card("Events lost", number(lost),
        `${number(status.events_lost.ring_full)} ring full, ${number(status.events_lost.rate_limited)} rate limited, ${number(status.flows.history.lost)} history`),
      card("Flow history", status.flows.history.error ? "failing" : status.flows.history.enabled ? "on" : "off",
        status.flows.history.error || `${number(status.flows.history.written)} records written`),
      status.confirm_within_seconds !== undefined ?
        card("Waiting for confirmation", `${status.confirm_within_seconds} s`, "rolls back unless confirmed (Rules page)") : null);
    const rows = itfs.interfaces.map((i) => {
      const prev = last && last.itfs[i.name];
      const dt = last ? (now - last.t) / 1000 : 1;
      const rate = (k) => (prev ? Math.max(0, (i[k] - prev[k]) / dt) : 0);
      return h("tr", {},
        h("td", {}, i.name), h("td", {}, i.zone || "-"), h("td", {}, i.attached ? `XDP ${i.xdp}` : "not attached"),
        h("td", { class: "num" }, number(Math.round(rate("rx_packets")))),
        h("td", { class: "num" }, bytes(rate("rx_bytes")) + "/s"),
        h("td", { class: "num" }, number(Math.round(rate("tx_packets")))),
        h("td", { class: "num" }, bytes(rate("tx_bytes")) + "/s"),
        h("td", { class: "num" }, number(Math.round(rate("rx_dropped") + rate("tx_dropped")))));
    });
    clear(interfaces, table(["Name", "Zone", "Attached",
      h("th", { class: "num", scope: "col" }, "rx pkt/s"), h("th", { class: "num", scope: "col" }, "rx"),
      h("th", { class: "num", scope: "col" }, "tx pkt/s"), h("th", { class: "num", scope: "col" }, "tx"),
      h("th", { class: "num", scope: "col" }, "drops/s")], rows, { id: "interfaces-table" }));
    last = { t: now, drops, passed, itfs: Object.fromEntries(itfs.interfaces.map((i) => [i.name, i])) };
  }

  await tick();
  const timer = setInterval(() => tick().catch(() => {}), 1000);
  return () => clearInterval(timer);
}
