#include "service/flow_pipeline.h"

#include <time.h>

#include "common/log.h"
#include "datapath/datapath.h"
#include "flows/event_decoder.h"
#include "flows/event_reader.h"
#include "store/flow_log.h"

namespace sluice::service {

FlowPipeline::FlowPipeline(datapath::Datapath& datapath, std::shared_ptr<store::FlowLog> log)
    : datapath_(datapath), log_(std::move(log)), decoder_(std::make_unique<flows::EventDecoder>()) {
  events_ = std::make_unique<flows::EventReader>(datapath_.events_fd(),
                                                 [this](const sluice_event& e) { on_event(e); });
}

FlowPipeline::~FlowPipeline() = default;

void FlowPipeline::ruleset_applied(const config::Config& cfg, const std::string& config_file,
                                   std::uint32_t generation, std::uint64_t applied_at_ns) {
  std::lock_guard lock(decode_mutex_);
  auto table = std::make_shared<flows::RuleTable>();
  table->config_file = config_file;
  for (const auto& r : cfg.rules)
    table->rules.push_back({r.name, static_cast<std::uint32_t>(r.where.line), r.log});
  decoder_->set_rules(generation, std::move(table));
  config_file_ = config_file;
  l7_rules_.clear();
  for (const auto& r : cfg.rules)
    if (r.l7)
      l7_rules_[r.name] = {config::to_string(r.chain), static_cast<std::uint32_t>(r.where.line)};
  log_->configure(cfg.flows);
  applied_at_ns_ = applied_at_ns;
  applied_generation_ = static_cast<int>(generation & 1);
}

void FlowPipeline::forget_interfaces() {
  std::lock_guard lock(decode_mutex_);
  decoder_->forget_interfaces();
}

void FlowPipeline::workloads_changed(std::shared_ptr<const flows::WorkloadNames> names) {
  std::lock_guard lock(decode_mutex_);
  workloads_ = names;
  decoder_->set_workloads(std::move(names));
}

int FlowPipeline::events_fd() const { return events_->fd(); }

bool FlowPipeline::handle_events() {
  std::lock_guard lock(decode_mutex_);
  int taken = events_->consume(kEventsPerTurn);
  log_->record(std::move(decoded_));
  decoded_.clear();
  return taken >= static_cast<int>(kEventsPerTurn);
}

void FlowPipeline::on_event(const sluice_event& e) {
  if (e.type < events_received_.size())
    events_received_[e.type].fetch_add(1, std::memory_order_relaxed);
  if (e.type == SLUICE_EVENT_CLOSED) {  // the reader checked it is a whole sluice_event_closed
    const auto& c = reinterpret_cast<const sluice_event_closed&>(e);
    decoded_.push_back(closed_record(c.key, c.entry));
    return;
  }
  // A fast-path new flow that carries its masquerade counts as both.
  if (e.type == SLUICE_EVENT_NEW_FLOW && (e.nat & SLUICE_NAT_SNAT))
    events_received_[SLUICE_EVENT_NAT].fetch_add(1, std::memory_order_relaxed);
  std::size_t first = decoded_.size();
  decoder_->decode(e, decoded_);
  if (e.type == SLUICE_EVENT_AUDIT || decoder_->logged(e)) log_flow(decoded_[first]);
}

// Audit verdicts, and decisions of rules with log = true, go to the
// journal too, at most kEventLinesPerSecond lines a second.
void FlowPipeline::log_flow(const flows::FlowRecord& r) {
  if (event_lines_ >= kEventLinesPerSecond) {
    ++events_suppressed_;
    return;
  }
  ++event_lines_;
  auto end = [](const std::string& addr, std::uint16_t port) {
    return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" +
           std::to_string(port);
  };
  std::string who = r.rule == "default" ? r.chain + " default" : "rule '" + r.rule + "'";
  std::string flow = (r.proto.empty() ? std::string("ip") : r.proto) + " " + end(r.src, r.sport) +
                     " -> " + end(r.dst, r.dport);
  if (r.verdict == flows::Verdict::Audit) {
    log(Priority::Notice, "audit: " + who + " would " + r.action + " " + flow + " (let through)");
    return;
  }
  log(Priority::Notice, std::string("flow ") + flows::to_string(r.verdict) + " by " + who +
                            (r.rule_line ? " (line " + std::to_string(r.rule_line) + ")" : "") +
                            ": " + flow + " on " + r.interface +
                            (r.reason.empty() ? "" : " (" + r.reason + ")"));
}

void FlowPipeline::tick() {
  std::lock_guard lock(decode_mutex_);
  if (Clock::now() < event_second_ + std::chrono::seconds(1)) return;
  if (events_suppressed_)
    log(Priority::Notice, std::to_string(events_suppressed_) +
                              " more audit or logged flow events in the last second");
  events_suppressed_ = 0;
  event_lines_ = 0;
  event_second_ = Clock::now();
}

flows::FlowRecord FlowPipeline::closed_record(const sluice_ct_key& key,
                                              const sluice_ct_entry& entry) {
  // Rule indexes name rules of the ruleset live when the flow started.
  return decoder_->closed(key, entry,
                          entry.created_ns >= applied_at_ns_ ? applied_generation_ : -1);
}

FlowPipeline::SweepStep FlowPipeline::sweep_step() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return sweep_.step(datapath_,
                     static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec);
}

void FlowPipeline::sweep_record(SweepStep step, config::FlowEvents recorded) {
  if (recorded == config::FlowEvents::All && !step.removed.empty()) {
    std::vector<flows::FlowRecord> closed;
    closed.reserve(step.removed.size());
    std::lock_guard lock(decode_mutex_);
    for (const auto& [key, entry] : step.removed) closed.push_back(closed_record(key, entry));
    log_->record(std::move(closed));
  }
  if (step.walk_done) sweep_report_ = {sweep_.interval().count(), sweep_.last_walk()};
}

void FlowPipeline::conntrack_counted(const datapath::ConntrackTableCounts& counted) {
  // Each table on its own: a flood of UDP flows fills only theirs.
  for (auto table : {SLUICE_CT_TABLE_TCP, SLUICE_CT_TABLE_OTHER}) {
    const auto& counts = counted[table];
    std::size_t entries = counts.flows + counts.translations;
    std::size_t capacity = datapath_.conntrack_capacity(table);
    std::string name =
        table == SLUICE_CT_TABLE_TCP ? "TCP conntrack table" : "conntrack table of other protocols";
    bool& high = conntrack_high_[table];
    // Warn once on the way up, again only after it has come down.
    if (!high && entries * 100 >= capacity * kConntrackWarnPercent) {
      high = true;
      ++conntrack_high_events_;
      log(Priority::Warning, name + " " + std::to_string(entries * 100 / capacity) + "% full (" +
                                 std::to_string(entries) + " of " + std::to_string(capacity) +
                                 "); when full, its least recently used flows are evicted");
    } else if (high && entries * 100 < capacity * (kConntrackWarnPercent - 10)) {
      high = false;
      log(Priority::Notice,
          name + " below " + std::to_string(kConntrackWarnPercent - 10) + "% again");
    }
  }
}

}  // namespace sluice::service
