#include "flows/flow_json.h"

#include <nlohmann/json.hpp>

namespace sluice::flows {

nlohmann::json l7_to_json(const FlowRecord::L7& l7) {
  nlohmann::json out = {{"kind", l7.kind},
                        {"status", l7.status},
                        {"request_bytes", l7.request_bytes},
                        {"response_bytes", l7.response_bytes},
                        {"latency_us", l7.latency_us}};
  for (auto [key, value] : {std::pair{"method", &l7.method}, std::pair{"host", &l7.host},
                            std::pair{"path", &l7.path}, std::pair{"sni", &l7.sni}})
    if (!value->empty()) out[key] = *value;
  return out;
}

FlowRecord::L7 l7_from_json(const nlohmann::json& j) {
  FlowRecord::L7 l7;
  if (!j.is_object()) return l7;
  l7.kind = j.value("kind", "");
  l7.method = j.value("method", "");
  l7.host = j.value("host", "");
  l7.path = j.value("path", "");
  l7.sni = j.value("sni", "");
  l7.status = j.value("status", 0);
  l7.request_bytes = j.value("request_bytes", std::uint64_t{0});
  l7.response_bytes = j.value("response_bytes", std::uint64_t{0});
  l7.latency_us = j.value("latency_us", std::uint64_t{0});
  return l7;
}

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
  if (!r.l7.kind.empty()) out["l7"] = l7_to_json(r.l7);
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
