#include "api/metrics.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "config/model.h"
#include "datapath/datapath.h"
#include "flows/event_decoder.h"
#include "service/service.h"
#include "store/flow_log.h"

namespace sluice::api {

namespace {

// A label value with \, " and newlines escaped as the format requires.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

class Writer {
 public:
  // Starts a metric family.
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  template <typename V>
  void sample(const char* name, const std::string& labels, V value) {
    out_ << name;
    if (!labels.empty()) out_ << "{" << labels << "}";
    out_ << " " << value << "\n";
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

// Each rule's (and chain default's) labels and counters, read once.
void rule_metrics(Writer& w, const config::Config& cfg, const service::Readings& dp) {
  std::vector<std::pair<std::string, sluice_counter>> rules;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const auto& r = cfg.rules[i];
    rules.emplace_back("rule=\"" + label(r.name) + "\",index=\"" + std::to_string(i) +
                           "\",chain=\"" + config::to_string(r.chain) + "\",action=\"" +
                           config::to_string(r.action) + "\"",
                       dp.rule(static_cast<std::uint32_t>(i)));
  }
  for (int c = 0; c < config::kChainCount; ++c) {
    auto chain = static_cast<config::Chain>(c);
    rules.emplace_back(std::string("rule=\"default\",index=\"default\",chain=\"") +
                           config::to_string(chain) + "\",action=\"" +
                           config::to_string(cfg.chain_defaults[c]) + "\"",
                       dp.chain_default(chain));
  }
  w.family("sluice_rule_packets_total", "counter",
           "Packets decided by each rule (first packets of flows).");
  for (const auto& [labels, c] : rules) w.sample("sluice_rule_packets_total", labels, c.packets);
  w.family("sluice_rule_bytes_total", "counter", "Bytes of the packets each rule decided.");
  for (const auto& [labels, c] : rules) w.sample("sluice_rule_bytes_total", labels, c.bytes);
}

// The L7 proxy: requests by rule and verdict, their latency, connections.
void l7_metrics(Writer& w, const service::ProxySupervisor& proxy) {
  const auto& st = proxy.status();
  w.family("sluice_l7_proxy_up", "gauge", "1 when the L7 proxy is running.");
  w.sample("sluice_l7_proxy_up", "", st.running ? 1 : 0);
  w.family("sluice_l7_proxy_starts_total", "counter", "Times sluiced started the L7 proxy.");
  w.sample("sluice_l7_proxy_starts_total", "", st.starts);
  w.family("sluice_l7_active_connections", "gauge", "Client connections the proxy holds.");
  w.sample("sluice_l7_active_connections", "", st.active_connections);
  w.family("sluice_l7_requests_total", "counter",
           "Requests (and TLS hellos) the proxy decided, by rule and verdict.");
  for (const auto& [rule, c] : proxy.counters()) {
    std::string r = "rule=\"" + label(rule) + "\",verdict=\"";
    w.sample("sluice_l7_requests_total", r + "allowed\"", c.allowed);
    w.sample("sluice_l7_requests_total", r + "denied\"", c.denied);
    w.sample("sluice_l7_requests_total", r + "audit\"", c.audit);
    w.sample("sluice_l7_requests_total", r + "refused\"", c.refused);
  }
  w.family("sluice_l7_request_duration_seconds", "histogram",
           "From a request's head to the end of its answer, through the proxy.");
  for (const auto& [rule, c] : proxy.counters()) {
    std::string r = "rule=\"" + label(rule) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < c.latency_buckets.size(); ++b) {
      cumulative += c.latency_buckets[b];
      std::ostringstream le;
      if (b < std::size(proxy::kLatencyBuckets))
        le << proxy::kLatencyBuckets[b];
      else
        le << "+Inf";
      w.sample("sluice_l7_request_duration_seconds_bucket", r + ",le=\"" + le.str() + "\"",
               cumulative);
    }
    w.sample("sluice_l7_request_duration_seconds_sum", r,
             static_cast<double>(c.latency_sum_us) / 1e6);
    w.sample("sluice_l7_request_duration_seconds_count", r, cumulative);
  }
}

// Every map's fill and memory, and the conntrack tables' (TCP, the rest)
// on their own and together.
void map_metrics(Writer& w, const service::Readings& dp) {
  std::size_t conntrack_entries = 0, conntrack_capacity = 0, conntrack_translations = 0;
  w.family("sluice_map_entries", "gauge", "Entries in each BPF map.");
  auto maps = dp.map_usage();
  for (const auto& m : maps) {
    w.sample("sluice_map_entries", "map=\"" + label(m.name) + "\"", m.entries);
    if (m.conntrack_table.empty()) continue;
    conntrack_entries += m.entries;
    conntrack_capacity += m.capacity;
    conntrack_translations += m.translations;
  }
  w.family("sluice_map_capacity", "gauge", "Maximum entries of each BPF map.");
  for (const auto& m : maps)
    w.sample("sluice_map_capacity", "map=\"" + label(m.name) + "\"", m.capacity);
  w.family("sluice_map_memory_bytes", "gauge", "Memory charged to each BPF map.");
  for (const auto& m : maps)
    w.sample("sluice_map_memory_bytes", "map=\"" + label(m.name) + "\"", m.memory);

  w.family("sluice_conntrack_entries", "gauge", "Tracked flows.");
  w.sample("sluice_conntrack_entries", "", conntrack_entries - conntrack_translations);
  w.family("sluice_conntrack_translations", "gauge",
           "Masquerade and port-forward translations in the conntrack table.");
  w.sample("sluice_conntrack_translations", "", conntrack_translations);
  w.family("sluice_conntrack_fill_ratio", "gauge",
           "Flows and translations over the conntrack tables' capacity (both together).");
  w.sample("sluice_conntrack_fill_ratio", "",
           static_cast<double>(conntrack_entries) /
               static_cast<double>(std::max<std::size_t>(conntrack_capacity, 1)));
  w.family("sluice_conntrack_table_fill_ratio", "gauge",
           "Flows and translations over each conntrack table's capacity (TCP, other protocols).");
  for (const auto& m : maps) {
    if (m.conntrack_table.empty()) continue;
    w.sample(
        "sluice_conntrack_table_fill_ratio", "table=\"" + m.conntrack_table + "\"",
        static_cast<double>(m.entries) / static_cast<double>(std::max<std::size_t>(m.capacity, 1)));
  }
}

}  // namespace

std::string metrics_text(const service::Service& s) {
  Writer w;
  const auto dp = s.readings();
  const auto& cfg = s.live().config;

  rule_metrics(w, cfg, dp);

  w.family("sluice_passed_packets_total", "counter",
           "Packets let through after judging them (tc).");
  w.sample("sluice_passed_packets_total", "", dp.passed().packets);
  w.family("sluice_drops_total", "counter", "Dropped packets by reason.");
  for (int r = 1; r < SLUICE_DROP_REASON_COUNT; ++r)
    w.sample("sluice_drops_total", std::string("reason=\"") + flows::drop_reason_name(r) + "\"",
             dp.drops(static_cast<sluice_drop_reason>(r)).packets);

  map_metrics(w, dp);

  const auto& log = *s.flows();
  auto history = log.history_status();
  w.family("sluice_events_lost_total", "counter", "Flow events not delivered or not kept, by why.");
  w.sample("sluice_events_lost_total", "why=\"ring_full\"",
           dp.events_lost(SLUICE_EVENT_LOST_RING_FULL));
  w.sample("sluice_events_lost_total", "why=\"rate_limited\"",
           dp.events_lost(SLUICE_EVENT_LOST_RATE_LIMITED));
  w.sample("sluice_events_lost_total", "why=\"history\"", history.lost);
  w.family("sluice_events_received_total", "counter",
           "Flow events received from the datapath, by type.");
  for (auto [type, name] :
       {std::pair{SLUICE_EVENT_NEW_FLOW, "new_flow"}, std::pair{SLUICE_EVENT_DROP, "drop"},
        std::pair{SLUICE_EVENT_REJECT, "reject"}, std::pair{SLUICE_EVENT_AUDIT, "audit"},
        std::pair{SLUICE_EVENT_NAT, "nat"}, std::pair{SLUICE_EVENT_CLOSED, "closed"}})
    w.sample("sluice_events_received_total", std::string("type=\"") + name + "\"",
             s.events_received(type));
  w.family("sluice_flows_recorded_total", "counter",
           "Flow records kept (in memory; the history has them too).");
  w.sample("sluice_flows_recorded_total", "", log.ring().last_id());

  const auto& applies = s.apply_stats();
  w.family("sluice_applies_total", "counter", "Rulesets applied.");
  w.sample("sluice_applies_total", "", applies.applied);
  w.family("sluice_apply_failures_total", "counter", "Applies refused (bad config) or failed.");
  w.sample("sluice_apply_failures_total", "", applies.failed);
  w.family("sluice_apply_duration_seconds", "gauge",
           "How long the last apply took to write the maps and go live.");
  w.sample("sluice_apply_duration_seconds", "", applies.last_seconds);
  w.family("sluice_ruleset_rules", "gauge", "Rules in the live ruleset.");
  w.sample("sluice_ruleset_rules", "", cfg.rules.size());
  l7_metrics(w, s.proxy());
  return w.str();
}

}  // namespace sluice::api
