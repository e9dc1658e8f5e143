// The exact contents of the datapath's policy maps for one ruleset, as the
// compiler produces them and the datapath writes them (gen fields zero: the
// datapath fills in the generation it writes). bpf/include/sluice/abi.h
// says what each map is for; docs/policy.md how they fit together.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "config/address.h"
#include "sluice/abi.h"

namespace sluice::policy {

// A source prefix, or a search marker, of a context and the scopes of its
// addresses (source_classes).
struct ClassEntry {
  std::uint8_t context = 0;  // a chain, or an interface context
  config::Prefix prefix;
  sluice_class_value value{};
};

// Destination prefix lengths of one or more scopes, shortest first.
struct LengthSet {
  std::uint32_t id = 0;
  std::vector<std::uint8_t> lengths;
};

// An interface context: (chain, in interface id, out interface id) -> id.
struct ContextEntry {
  sluice_context_key key{};
  std::uint32_t id = 0;
};

struct TargetEntry {
  sluice_target_key key{};
  sluice_target value{};
};

// The destination table of a small scope (dest_tables).
struct TableEntry {
  sluice_dest_table_key key{};
  sluice_dest_table value{};
};

struct GroupEntry {
  sluice_group_key key{};
  sluice_group value{};
};

// One decision entry: a protocol/port prefix of a large group.
struct DecisionEntry {
  sluice_decision_key key{};
  sluice_decision value{};
};

inline std::size_t family_slot(config::Family family) {
  return family == config::Family::V6 ? 1u : 0u;
}

struct CompiledPolicy {
  // Interfaces rules name (their ids are index + 1), the contexts of the
  // rules naming them, and per chain which kinds of context it has.
  std::vector<std::string> interfaces;
  std::vector<ContextEntry> contexts;
  std::array<std::uint8_t, SLUICE_CHAIN_COUNT> context_kinds{};  // SLUICE_CONTEXT_*
  std::vector<ClassEntry> classes;
  // [context][family_slot]: source prefix lengths, shortest first, and the
  // length set of the scope of rules from "any" (0: none). One per context
  // in use; the chains' own contexts are always there.
  std::vector<std::array<std::vector<std::uint8_t>, 2>> source_lengths;
  std::vector<std::array<std::uint32_t, 2>> any_scope;
  std::vector<LengthSet> length_sets;
  std::vector<TargetEntry> targets;
  std::vector<TableEntry> tables;
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

  std::size_t map_entries() const {
    return classes.size() + length_sets.size() + targets.size() + tables.size() + groups.size() +
           decisions.size();
  }
};

}  // namespace sluice::policy
