// The L7 proxy's records as flow records: the verdict in the flow log's
// words (a 403 or another answer of the proxy's is a rejection, a TLS
// hello refused without an answer a drop), the rule with its chain and
// line, the containers at both ends.
#include "service/flow_pipeline.h"
#include "store/flow_log.h"

namespace sluice::service {

namespace {

flows::Verdict verdict_of(const proxy::L7Record& r) {
  if (r.verdict == "allowed") return flows::Verdict::Allowed;
  if (r.verdict == "audit") return flows::Verdict::Audit;
  return r.status ? flows::Verdict::Rejected : flows::Verdict::Dropped;
}

}  // namespace

void FlowPipeline::record_l7(std::vector<proxy::L7Record> records) {
  std::vector<flows::FlowRecord> out;
  out.reserve(records.size());
  std::lock_guard lock(decode_mutex_);
  for (auto& p : records) {
    flows::FlowRecord r;
    r.time_ms = p.time_ms;
    r.verdict = verdict_of(p);
    r.rule = p.rule;
    if (auto it = l7_rules_.find(p.rule); it != l7_rules_.end()) {
      r.chain = it->second.chain;
      r.rule_line = it->second.line;
      r.config_file = config_file_;
    }
    if (r.verdict == flows::Verdict::Audit) r.action = "deny";
    r.reason = std::move(p.reason);
    r.proto = "tcp";
    r.src = std::move(p.client);
    r.sport = p.client_port;
    r.dst = std::move(p.server);
    r.dport = p.server_port;
    if (workloads_) {
      r.src_workload = workloads_->describe(r.src);
      r.dst_workload = workloads_->describe(r.dst);
    }
    r.l7.kind = std::move(p.kind);
    r.l7.method = std::move(p.method);
    r.l7.host = std::move(p.host);
    r.l7.path = std::move(p.path);
    r.l7.sni = std::move(p.sni);
    r.l7.status = p.status;
    r.l7.request_bytes = p.request_bytes;
    r.l7.response_bytes = p.response_bytes;
    r.l7.latency_us = p.latency_us;
    out.push_back(std::move(r));
  }
  l7_records_ += out.size();
  log_->record(std::move(out));
}

}  // namespace sluice::service
