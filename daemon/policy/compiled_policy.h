// The exact contents of the datapath's policy maps for one ruleset, as the
// compiler produces them and the datapath writes them (gen fields zero: the
// datapath fills in the generation it writes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "config/address.h"
#include "sluice/abi.h"

namespace sluice::policy {

// Named prefix -> the classes containing it (addr_classes), for the source
// or the destination side.
struct ClassEntry {
  config::Prefix prefix;
  sluice_class_chain chain{};
  std::uint8_t side = SLUICE_SIDE_SRC;  // enum sluice_class_side
};

// A (chain, src class, dst class) pair some rule names.
struct GroupEntry {
  sluice_group_key key{};
  sluice_group value{};
};

// One decision entry: a protocol/port prefix of a large group.
struct DecisionEntry {
  sluice_decision_key key{};
  sluice_decision value{};
};

// Index of CompiledPolicy::prefix_lengths for a side and family.
inline std::size_t prefix_lengths_slot(std::uint8_t side, config::Family family) {
  return side * 2u + (family == config::Family::V6 ? 1u : 0u);
}

struct CompiledPolicy {
  std::vector<ClassEntry> classes;
  // Distinct prefix lengths per (side, family), longest first.
  std::array<std::vector<std::uint8_t>, 4> prefix_lengths;
  std::vector<GroupEntry> groups;
  std::vector<DecisionEntry> decisions;
  std::array<std::uint8_t, SLUICE_CHAIN_COUNT> chain_defaults{};  // enum sluice_action
  std::array<std::uint8_t, SLUICE_CHAIN_COUNT> chain_audit{};     // 1: default only counted
  std::uint8_t flow_events = SLUICE_FLOW_EVENTS_ALL;              // enum sluice_flow_events
  std::vector<config::Prefix> prefilter;                          // sources dropped at XDP
  // Management sources inside a dropped prefix: exempt from it (the
  // anti-lockout rule decides them), by LPM's longest match.
  std::vector<config::Prefix> prefilter_exempt;
  // Blocklist prefixes left out because they lie wholly inside the
  // management sources.
  std::size_t prefilter_left_out = 0;
  std::vector<std::string> rule_names;  // by rule index
};

}  // namespace sluice::policy
