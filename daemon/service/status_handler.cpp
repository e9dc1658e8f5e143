#include "service/status_handler.h"

#include <time.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "datapath/datapath.h"
#include "service/requests.h"
#include "service/service.h"
#include "store/flow_log.h"

namespace sluice::service {

using nlohmann::json;

namespace {

json flows_status(Service& s) {
  const auto& log = *s.flows();
  auto h = log.history_status();
  json history = {{"enabled", h.enabled},
                  {"path", h.path},
                  {"written", h.written},
                  {"lost", h.lost},
                  {"removed_by_retention", h.removed}};
  if (!h.error.empty()) history["error"] = h.error;
  return {{"in_memory", log.ring().size()},
          {"memory_capacity", log.ring().capacity()},
          {"last_id", log.ring().last_id()},
          {"history", history}};
}

// Packets let through (by tc after judging them, or forwarded by the XDP
// fast path) and dropped, since the datapath was loaded.
json packets(Service& s) {
  const auto dp = s.readings();
  std::uint64_t allowed = dp.passed().packets + dp.fast_path(SLUICE_FAST_FORWARDED).packets +
                          dp.fast_path(SLUICE_FAST_NEW_FLOW).packets;
  std::uint64_t dropped = 0;
  for (int r = 1; r < SLUICE_DROP_REASON_COUNT; ++r)
    dropped += dp.drops(static_cast<sluice_drop_reason>(r)).packets;
  return {{"allowed", allowed}, {"dropped", dropped}};
}

// The L7 proxy: whether the rules need it, whether it runs, how it ended.
json proxy_status(const Service& s) {
  const auto& p = s.proxy().status();
  json out = {{"wanted", p.wanted},
              {"running", p.running},
              {"starts", p.starts},
              {"active_connections", p.active_connections}};
  if (p.running) out["pid"] = p.pid;
  if (!p.last_exit.empty()) out["last_exit"] = p.last_exit;
  return out;
}

}  // namespace

std::uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
}

// Kubernetes mode: each collection's watch of the API server (as the
// loop copied it last, at most a second ago).
json watch_status(Service& s) {
  json out = json::array();
  for (const auto& w : s.watched()) {
    json one = {{"collection", w.path},  {"listed", w.listed}, {"objects", w.objects},
                {"lists", w.lists},      {"events", w.events}, {"relists_gone", w.relists_gone},
                {"rejected", w.rejected}};
    if (!w.last_problem.empty()) {
      one["last_problem"] = w.last_problem;
      one["last_problem_ms"] = w.last_problem_ms;
    }
    out.push_back(std::move(one));
  }
  return out;
}

// Kubernetes mode: the state of the cluster applied last.
json kubernetes_status(Service& s) {
  const auto& k = s.live().config.kubernetes;
  if (!k.enabled) return {{"enabled", false}};
  const auto& c = s.rulesets().cluster();
  json out = {{"enabled", true},
              {"tunnel", k.tunnel == config::Tunnel::Vxlan ? "vxlan" : "none"},
              {"state", c.sequence},
              {"watch", watch_status(s)}};
  if (c.sequence == 0) return out;  // the API server not (yet) listed in full
  out.update({{"node", c.node},
              {"pods", c.pods.size()},
              {"network_policies", c.policies},
              {"rules", c.rules.size()},
              {"routes", c.routes.size()},
              {"applied_seconds_ago",
               (monotonic_ns() - s.rulesets().cluster_applied_at_ns()) / 1000000000ull}});
  return out;
}

json status(Service& s, const json&, const Caller&) {
  json itfs = json::array();
  for (const auto& [name, mode] : s.interfaces()) itfs.push_back({{"name", name}, {"xdp", mode}});
  json maps = json::array();
  // Both conntrack tables (TCP, and every other protocol): each, and the sum.
  std::size_t conntrack_entries = 0, conntrack_capacity = 0, conntrack_translations = 0;
  json tables = json::object();
  for (const auto& m : s.readings().map_usage()) {
    maps.push_back({{"name", m.name},
                    {"entries", m.entries},
                    {"capacity", m.capacity},
                    {"memory_bytes", m.memory}});
    if (m.conntrack_table.empty()) continue;
    tables[m.conntrack_table] = {{"entries", m.entries},
                                 {"capacity", m.capacity},
                                 {"translations", m.translations},
                                 {"memory_bytes", m.memory}};
    conntrack_entries += m.entries;
    conntrack_capacity += m.capacity;
    conntrack_translations += m.translations;
  }
  json out = {{"ok", true},
              {"version", SLUICE_VERSION},
              {"config", s.config_path()},
              {"generation", s.readings().generation()},
              {"rules", s.live().config.rules.size()},
              {"applied_seconds_ago", (monotonic_ns() - s.applied_at_ns()) / 1000000000ull},
              {"interfaces", itfs},
              {"conntrack_entries", conntrack_entries},
              {"conntrack_capacity", conntrack_capacity},
              {"conntrack_translations", conntrack_translations},
              {"conntrack_tables", tables},
              {"conntrack_high_events", s.conntrack_high_events()},
              {"conntrack_sweep",
               {{"interval_seconds", s.sweep_report().interval_seconds},
                {"last_walk",
                 {{"entries", s.sweep_report().last_walk.seen},
                  {"removed", s.sweep_report().last_walk.removed},
                  {"seconds", s.sweep_report().last_walk.seconds}}}}},
              {"events_lost",
               {{"ring_full", s.readings().events_lost(SLUICE_EVENT_LOST_RING_FULL)},
                {"rate_limited", s.readings().events_lost(SLUICE_EVENT_LOST_RATE_LIMITED)}}},
              {"events_received",
               {{"new_flow", s.events_received(SLUICE_EVENT_NEW_FLOW)},
                {"drop", s.events_received(SLUICE_EVENT_DROP)},
                {"reject", s.events_received(SLUICE_EVENT_REJECT)},
                {"audit", s.events_received(SLUICE_EVENT_AUDIT)},
                {"nat", s.events_received(SLUICE_EVENT_NAT)},
                {"closed", s.events_received(SLUICE_EVENT_CLOSED)}}},
              {"flows", flows_status(s)},
              {"packets", packets(s)},
              {"proxy", proxy_status(s)},
              {"kubernetes", kubernetes_status(s)},
              {"maps", maps}};
  if (auto deadline = s.confirm_deadline()) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(*deadline - Service::Clock::now());
    out["confirm_within_seconds"] = std::max<long>(0, left.count());
  }
  return out;
}

}  // namespace sluice::service
