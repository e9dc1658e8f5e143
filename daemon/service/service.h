// sluiced's job: keep the datapath attached to the configured interfaces,
// enforcing the last valid ruleset, with the host's addresses current.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "config/diff.h"
#include "flows/flow_record.h"
#include "policy/nat_tables.h"
#include "policy/ruleset.h"
#include "sluice/abi.h"

namespace sluice::datapath {
class Attachment;
class Datapath;
struct LocalAddress;
}  // namespace sluice::datapath

namespace sluice::store {
class StateStore;
}  // namespace sluice::store

namespace sluice::flows {
class EventDecoder;
class EventReader;
}  // namespace sluice::flows

struct sluice_event;

namespace sluice::service {

struct ServiceOptions {
  std::string config_path = "/etc/sluice/sluice.toml";
  std::string pin_dir = "/sys/fs/bpf/sluice";  // empty: nothing pinned
  std::string database_path = "/var/lib/sluice/sluice.db";  // empty: no sqlite state
  // Where address lists may be read besides the config file's directory.
  std::vector<std::string> list_dirs;
};

class FlowLog;

class Service {
 public:
  // Loads the BPF programs (taking over the pinned maps of a previous
  // sluiced, conntrack included) and applies the config; throws
  // std::runtime_error (with every config error) when it cannot.
  explicit Service(ServiceOptions options);
  // Detaches from every interface and removes the pins, unless
  // keep_datapath_enforcing() was called.
  ~Service();

  // On stop, leave the programs attached and the maps pinned, enforcing
  // the last ruleset until the next sluiced takes over (upgrades).
  void keep_datapath_enforcing() { keep_ = true; }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Re-reads the config file and applies it atomically. A bad file changes
  // nothing: the running ruleset stays and the errors are returned (and
  // logged). An apply awaiting confirmation keeps its deadline (the file
  // it re-reads is the unconfirmed one).
  // who: recorded in the config history and audit log.
  config::Diagnostics reload(const std::string& who);

  struct ApplyOutcome {
    config::Diagnostics diagnostics;     // non-empty: nothing was applied
    std::vector<config::Change> changes;  // what the apply changed
    std::uint64_t version = 0;           // in the config history (0: not recorded)
  };
  // reload(), optionally with commit-confirm: unless confirm() arrives
  // within confirm_within, the previous ruleset comes back by itself.
  ApplyOutcome apply_file(std::optional<std::chrono::seconds> confirm_within, const std::string& who);
  // The same for new config text (the API's editor): valid text replaces
  // the config file, then applies; invalid text changes nothing.
  ApplyOutcome apply_text(const std::string& text, std::optional<std::chrono::seconds> confirm_within,
                          const std::string& who);

  // Keeps a ruleset applied with a confirm deadline. False when none waits.
  bool confirm(const std::string& who);

  // Applies the ruleset that was live before the last apply (the last
  // confirmed one while an apply awaits confirmation) and writes its text
  // back to the config file, so a reload or restart keeps it. False (and
  // why) when there is none or it fails.
  bool rollback(std::string& why, const std::string& who);

  // Config history, audit log, API users; null when the database is
  // unavailable (state_error() says why).
  store::StateStore* state() const { return state_.get(); }

  struct ApplyStats {
    std::uint64_t applied = 0;  // rulesets made live (start, applies, rollbacks)
    std::uint64_t failed = 0;   // applies refused or failed
    double last_seconds = 0;    // the last one: maps written until live
  };
  const ApplyStats& apply_stats() const { return apply_stats_; }
  const std::string& state_error() const { return state_error_; }

  // Rolls back an unconfirmed apply whose deadline passed, and ends the
  // current second of event logging. Called often.
  void tick();

  // Readable when the datapath's event ring fills up; handle_events()
  // records waiting events as flows (and logs audit verdicts), at most
  // kEventsPerTurn of them: true when more may be waiting.
  int events_fd() const;
  bool handle_events();
  // Records handled per call: the loop (and the API waiting for the
  // service) gets a turn in between.
  static constexpr std::size_t kEventsPerTurn = 2048;
  // Events received from the datapath, by enum sluice_event_type.
  std::uint64_t events_received(unsigned type) const { return type < events_received_.size() ? events_received_[type] : 0; }
  // The flow log, shared with readers on other threads.
  std::shared_ptr<FlowLog> flows() const { return flows_; }

  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> confirm_deadline() const {
    return pending_ ? std::optional(pending_->deadline) : std::nullopt;
  }
  const policy::Ruleset& live() const { return *live_; }
  const std::string& config_path() const { return config_path_; }
  const std::vector<std::string>& list_dirs() const { return list_dirs_; }
  // When the live ruleset was applied, in bpf_ktime_get_ns() time.
  std::uint64_t applied_at_ns() const { return applied_at_ns_; }
  const datapath::Datapath& datapath() const { return *datapath_; }
  std::vector<std::pair<std::string, std::string>> interfaces() const;  // name, XDP mode
  // Times the conntrack table went past kConntrackWarnPercent full.
  std::uint64_t conntrack_high_events() const { return conntrack_high_events_; }
  static constexpr std::size_t kConntrackWarnPercent = 90;

  // Attaches to configured interfaces that have appeared, forgets ones
  // that vanished, and reloads the host's addresses. Cheap; called often.
  void refresh();

  // The conntrack sweep, every kConntrackSweepEvery: flows idle past their
  // timeout are removed and recorded as closed, and a filling table is
  // warned about. In two steps so that the walk (about 0.2 s for a full
  // table) holds no lock: sweep_due() and sweep_walk() touch only the
  // loop thread's own state and the datapath's maps (safe beside the API's
  // threads); sweep_record() needs the service lock.
  struct SweepResult {
    std::vector<std::pair<sluice_ct_key, sluice_ct_entry>> removed;
    std::size_t entries_left = 0;
  };
  bool sweep_due() const { return Clock::now() >= next_sweep_; }
  SweepResult sweep_walk();
  void sweep_record(SweepResult swept);

 private:
  void apply(const policy::Ruleset& ruleset);
  ApplyOutcome apply_loaded(policy::LoadResult loaded, std::optional<std::chrono::seconds> confirm_within,
                            const std::string& who, const std::string* new_text, bool keep_pending = false);
  // Records the live ruleset in the config history (and the audit log).
  std::uint64_t record_version(const std::string& who, const std::string& diff, const std::string& what);
  void audit(const std::string& who, const std::string& what, const std::string& detail);
  std::unique_ptr<store::StateStore> state_;
  ApplyStats apply_stats_;
  std::string state_error_;
  // The record of a flow that ended, its rule named by the ruleset live
  // when it started (when that is still known).
  flows::FlowRecord closed_record(const sluice_ct_key& key, const sluice_ct_entry& entry);
  // Forwarding and static routes as the config says (routing is the
  // kernel's; sluice only installs what the config names).
  void apply_routing(const config::Config& cfg);
  void on_event(const sluice_event& e);
  void log_flow(const flows::FlowRecord& r);
  std::shared_ptr<FlowLog> flows_;
  std::array<std::uint64_t, 8> events_received_{};
  std::vector<flows::FlowRecord> decoded_;  // this turn's events, recorded together
  std::unique_ptr<flows::EventDecoder> decoder_;
  // NAT tables for the live config and the interfaces' current addresses.
  void update_nat(const std::vector<datapath::LocalAddress>& addrs);
  std::optional<policy::NatTables> nat_;
  // The egress interfaces of the XDP fast path, as [router] fast_path says.
  void update_fast_path();
  std::optional<std::vector<std::uint32_t>> fast_path_;

  // Audit and logged flow events written to the journal per second at most; the rest are counted and
  // summed up, so a flood cannot drown the journal.
  static constexpr unsigned kEventLinesPerSecond = 10;
  unsigned event_lines_ = 0;
  std::uint64_t events_suppressed_ = 0;
  Clock::time_point event_second_{};
  std::unique_ptr<flows::EventReader> events_;

  // The sweep walks the whole table: often enough that a closed flow is
  // reported within seconds, rarely enough to cost nothing.
  static constexpr auto kConntrackSweepEvery = std::chrono::seconds(5);
  Clock::time_point next_sweep_{};
  bool conntrack_high_ = false;
  std::uint64_t conntrack_high_events_ = 0;

  struct PendingConfirm {
    Clock::time_point deadline;
    policy::Ruleset restore;
  };
  // pending_ and its copy in the database (which outlives a restart)
  // change together.
  void set_pending(std::optional<PendingConfirm> pending);
  // At start: the ruleset to start with instead of the file's, when an
  // apply awaited confirmation as sluiced stopped and its deadline has
  // passed since (the file is rewritten); resumes the wait otherwise.
  std::optional<policy::Ruleset> resume_pending_confirm();

  std::string config_path_;
  std::vector<std::string> list_dirs_;
  bool keep_ = false;
  std::unique_ptr<datapath::Datapath> datapath_;
  std::optional<policy::Ruleset> live_;
  std::optional<policy::Ruleset> previous_;
  std::optional<PendingConfirm> pending_;
  std::uint64_t applied_at_ns_ = 0;
  int applied_generation_ = 0;  // the generation that apply made live (no map read per closed flow)
  std::map<std::string, std::unique_ptr<datapath::Attachment>> attached_;
};

}  // namespace sluice::service
