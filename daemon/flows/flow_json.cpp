#include "flows/flow_json.h"

#include <nlohmann/json.hpp>

namespace sluice::flows {

nlohmann::json to_json(const FlowRecord& r) {
  nlohmann::json out = {
      {"id", r.id},       {"time_ms", r.time_ms}, {"verdict", to_string(r.verdict)},
      {"chain", r.chain}, {"rule", r.rule},       {"interface", r.interface},
      {"proto", r.proto}, {"src", r.src},         {"sport", r.sport},
      {"dst", r.dst},     {"dport", r.dport}};
  if (r.rule_line) out["rule_at"] = {{"file", r.config_file}, {"line", r.rule_line}};
  if (!r.action.empty()) out["action"] = r.action;
  if (!r.reason.empty()) out["reason"] = r.reason;
  if (!r.nat.empty()) out["nat"] = {{"kind", r.nat}, {"addr", r.nat_addr}, {"port", r.nat_port}};
  if (!r.src_workload.empty()) out["src_workload"] = r.src_workload;
  if (!r.dst_workload.empty()) out["dst_workload"] = r.dst_workload;
  if (r.src_identity) out["src_identity"] = r.src_identity;
  if (r.dst_identity) out["dst_identity"] = r.dst_identity;
  if (!r.l7.kind.empty()) {
    nlohmann::json l7 = {{"kind", r.l7.kind},
                         {"status", r.l7.status},
                         {"request_bytes", r.l7.request_bytes},
                         {"response_bytes", r.l7.response_bytes},
                         {"latency_us", r.l7.latency_us}};
    for (auto [key, value] : {std::pair{"method", &r.l7.method}, std::pair{"host", &r.l7.host},
                              std::pair{"path", &r.l7.path}, std::pair{"sni", &r.l7.sni}})
      if (!value->empty()) l7[key] = *value;
    out["l7"] = std::move(l7);
  }
  if (r.verdict == Verdict::Closed) {
    out["packets"] = {r.packets[0], r.packets[1]};
    out["bytes"] = {r.bytes[0], r.bytes[1]};
    out["duration_ms"] = r.duration_ms;
  }
  return out;
}

std::string filter_from_json(const nlohmann::json& terms, FlowFilter& filter, std::int64_t now_ms) {
  if (terms.is_null()) return {};
  if (!terms.is_object()) return "the filter is a JSON object of terms";
  for (const auto& [key, value] : terms.items()) {
    std::string text;
    if (value.is_string())
      text = value.get<std::string>();
    else if (value.is_number_integer())
      text = std::to_string(value.get<std::int64_t>());
    else
      return key + ": expected a string or an integer";
    if (auto err = set_filter_term(filter, key, text, now_ms); !err.empty()) return err;
  }
  return {};
}

}  // namespace sluice::flows
