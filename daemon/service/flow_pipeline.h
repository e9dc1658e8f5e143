// From the datapath's events and its conntrack table to flow records: the
// event ring read in turns, records decoded with the names of the rules
// live when each flow started, audit and logged verdicts written to the
// journal (at most kEventLinesPerSecond a second), and the conntrack
// sweep that reports flows ended by their timeout.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "datapath/conntrack_counts.h"
#include "flows/flow_record.h"
#include "flows/workload_names.h"
#include "proxy/control_messages.h"
#include "service/conntrack_sweep.h"
#include "sluice/abi.h"

namespace sluice::datapath {
class Datapath;
}  // namespace sluice::datapath

namespace sluice::flows {
class EventDecoder;
class EventReader;
}  // namespace sluice::flows

namespace sluice::store {
class FlowLog;
}  // namespace sluice::store

namespace sluice::service {

class FlowPipeline {
 public:
  using Clock = std::chrono::steady_clock;

  FlowPipeline(datapath::Datapath& datapath, std::shared_ptr<store::FlowLog> log);
  ~FlowPipeline();
  FlowPipeline(const FlowPipeline&) = delete;
  FlowPipeline& operator=(const FlowPipeline&) = delete;

  // A ruleset went live as generation at applied_at_ns (the datapath's
  // clock): its rule names decode the flows it decides from now on.
  void ruleset_applied(const config::Config& cfg, const std::string& config_file,
                       std::uint32_t generation, std::uint64_t applied_at_ns);
  // The containers' names and labels changed (CNI mode).
  void workloads_changed(std::shared_ptr<const flows::WorkloadNames> names);
  // Interface indexes may have been reused: forget their names.
  void forget_interfaces();

  // Readable when the event ring fills up; handle_events() records what
  // waits, at most kEventsPerTurn events: true when more may be waiting.
  // The loop calls it without the service lock: during a flood it decodes
  // all the time, and API requests must not wait for that (an API thread
  // that applies a ruleset waits for one turn at most, on decode_mutex_).
  int events_fd() const;
  bool handle_events();
  static constexpr std::size_t kEventsPerTurn = 2048;
  // Events received, by enum sluice_event_type (read without a lock).
  std::uint64_t events_received(unsigned type) const {
    return type < events_received_.size() ? events_received_[type].load(std::memory_order_relaxed)
                                          : 0;
  }

  // The L7 proxy's records (l7_flow_records.cpp): named like the
  // datapath's, into the same log.
  void record_l7(std::vector<proxy::L7Record> records);
  std::uint64_t l7_records() const { return l7_records_; }

  // Ends the current second of journal lines (called often).
  void tick();

  // The conntrack sweep (conntrack_sweep.h): flows idle past their
  // timeout are removed and recorded as closed. sweep_due() and
  // sweep_step() touch only this object's loop-side state and the
  // datapath's maps (no lock; a step reads one chunk); sweep_record() runs
  // under the service lock.
  using SweepStep = ConntrackSweep::Step;
  bool sweep_due() const { return sweep_.due(); }
  bool sweeping() const { return sweep_.walking(); }
  SweepStep sweep_step();
  void sweep_record(SweepStep step, config::FlowEvents recorded);
  // What status shows of the sweep: copied in sweep_record(), under the
  // service lock, since the sweep itself moves on without it.
  struct SweepReport {
    double interval_seconds = ConntrackSweep::kFirstInterval.count();
    ConntrackSweep::LastWalk last_walk;
  };
  const SweepReport& sweep_report() const { return sweep_report_; }

  // The conntrack tables' fill, counted once a second (Service::
  // conntrack_counted()): a filling table is warned about.
  void conntrack_counted(const datapath::ConntrackTableCounts& counted);
  // Times the conntrack table went past kConntrackWarnPercent full.
  std::uint64_t conntrack_high_events() const { return conntrack_high_events_; }
  static constexpr std::size_t kConntrackWarnPercent = 90;

 private:
  void on_event(const sluice_event& e);
  void log_flow(const flows::FlowRecord& r);
  // The record of a flow that ended, its rule named by the ruleset live
  // when it started (when that is still known).
  flows::FlowRecord closed_record(const sluice_ct_key& key, const sluice_ct_entry& entry);

  datapath::Datapath& datapath_;
  std::shared_ptr<store::FlowLog> log_;
  // Guards what decoding reads and writes, from here to the journal's
  // rate below: handle_events() holds it on the loop without the service
  // lock; everything else here runs under the service lock and takes it
  // too (in that order, never the other way round).
  std::mutex decode_mutex_;
  // For the proxy's records: the L7 rules' chains and lines, the workloads.
  struct L7Rule {
    std::string chain;
    std::uint32_t line = 0;
  };
  std::map<std::string, L7Rule> l7_rules_;
  std::string config_file_;
  std::shared_ptr<const flows::WorkloadNames> workloads_;
  std::uint64_t l7_records_ = 0;
  std::unique_ptr<flows::EventDecoder> decoder_;
  std::unique_ptr<flows::EventReader> events_;
  std::array<std::atomic<std::uint64_t>, 8> events_received_{};
  std::vector<flows::FlowRecord> decoded_;  // this turn's events, recorded together
  std::uint64_t applied_at_ns_ = 0;
  int applied_generation_ = 0;  // no map read per closed flow

  // The journal gets at most this many event lines a second; the rest are
  // counted and summed up, so a flood cannot drown it.
  static constexpr unsigned kEventLinesPerSecond = 10;
  unsigned event_lines_ = 0;
  std::uint64_t events_suppressed_ = 0;
  Clock::time_point event_second_{};

  ConntrackSweep sweep_;
  SweepReport sweep_report_;
  bool conntrack_high_[SLUICE_CT_TABLE_COUNT] = {};  // per table, since the last warning
  std::uint64_t conntrack_high_events_ = 0;
};

}  // namespace sluice::service
