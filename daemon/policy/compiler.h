// Ruleset -> map contents. Pure: no I/O, no kernel. See docs/policy.md for
// why the result decides a new flow in a bounded number of lookups.
#pragma once

#include <optional>
#include <stdexcept>

#include "config/model.h"
#include "policy/compiled_policy.h"

namespace sluice::policy {

// Thrown when a valid config does not fit the datapath's limits. `rule` is
// the index of the rule to point at (the one that needs the most), when
// one rule can be blamed.
class CapacityError : public std::runtime_error {
 public:
  explicit CapacityError(const std::string& what, std::optional<std::size_t> rule = std::nullopt)
      : std::runtime_error(what), rule(rule) {}
  std::optional<std::size_t> rule;
};

// Entries of one generation the datapath's maps hold (sluice/abi.h); tests
// pass smaller ones to reach them with small rulesets.
struct Limits {
  std::size_t rules = SLUICE_MAX_RULES;
  std::size_t contexts = SLUICE_MAX_CONTEXTS;  // the chains' own included
  std::size_t source_entries = SLUICE_MAX_CLASS_ENTRIES / SLUICE_GENERATIONS;
  std::size_t length_sets = SLUICE_MAX_LENGTH_SETS / SLUICE_GENERATIONS - 1;  // ids from 1
  std::size_t targets = SLUICE_MAX_TARGETS / SLUICE_GENERATIONS;
  std::size_t tables = SLUICE_MAX_DEST_TABLES / SLUICE_GENERATIONS;
  std::size_t groups = SLUICE_MAX_GROUPS / SLUICE_GENERATIONS;
  std::size_t decisions = SLUICE_MAX_DECISIONS / SLUICE_GENERATIONS;
};

CompiledPolicy compile(const config::Config& cfg, const Limits& limits = {});

}  // namespace sluice::policy
