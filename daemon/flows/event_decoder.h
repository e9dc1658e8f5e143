// Turns the datapath's struct sluice_event into a FlowRecord: rule index
// and generation into the rule's name and line, ifindex into a name,
// kernel time into wall-clock time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flows/flow_record.h"
#include "flows/workload_names.h"

struct sluice_event;
struct sluice_ct_key;
struct sluice_ct_entry;

namespace sluice::flows {

struct RuleRef {
  std::string name;
  std::uint32_t line = 0;
  bool log = false;  // log = true: its decisions also go to the journal
};

// The rules of one applied ruleset, by rule index.
struct RuleTable {
  std::string config_file;
  std::vector<RuleRef> rules;
};

// The name sluicectl and the API use for enum sluice_drop_reason values.
const char* drop_reason_name(unsigned reason);
// "tcp", "udp", "icmp", "icmpv6", or the number.
std::string proto_name(unsigned proto);
// An address of the datapath's (16 bytes; IPv4 in the first 4) as text.
std::string address_text(const std::uint8_t* addr, std::uint8_t family);
// Milliseconds since the epoch for a bpf_ktime_get_ns() time.
std::int64_t wall_clock_ms(std::uint64_t ktime_ns);

// Whether a conntrack entry has been idle past its state's timeout at
// now_ns (bpf_ktime_get_ns() time): the datapath's own rule, from abi.h.
bool conntrack_expired(const sluice_ct_key& key, const sluice_ct_entry& entry,
                       std::uint64_t now_ns);

class EventDecoder {
 public:
  // The ruleset now live in generation (0 or 1). Events carry the
  // generation their rule index belongs to, so events decided by the
  // previous ruleset, still in the ring during an apply, keep their names.
  void set_rules(std::uint32_t generation, std::shared_ptr<const RuleTable> rules);
  // The containers' names and labels (CNI mode), from now on.
  void set_workloads(std::shared_ptr<const WorkloadNames> names) { workloads_ = std::move(names); }
  // Interface names are cached; call when interfaces may have changed.
  void forget_interfaces() { interfaces_.clear(); }

  // Appends the record(s) e stands for: one, or two for a new flow the
  // fast path masqueraded at once (the flow, then its translation, as tc
  // reports them in two events).
  void decode(const sluice_event& e, std::vector<FlowRecord>& out);
  // Whether the rule that decided e asked for its decisions to be logged.
  bool logged(const sluice_event& e) const;
  // The record of a tracked flow that ended: originator's view, counts
  // each way, duration. generation: the ruleset whose rule_index the entry
  // holds, when known (-1: from a ruleset no longer loaded).
  FlowRecord closed(const sluice_ct_key& key, const sluice_ct_entry& entry, int generation);

 private:
  FlowRecord decode_one(const sluice_event& e);
  const std::string& interface_name(std::uint32_t ifindex);
  void name_rule(FlowRecord& r, std::uint32_t rule_index, int generation) const;

  std::array<std::shared_ptr<const RuleTable>, 2> rules_;
  std::map<std::uint32_t, std::string> interfaces_;
  std::shared_ptr<const WorkloadNames> workloads_;
};

}  // namespace sluice::flows
