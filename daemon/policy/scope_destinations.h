// The destination side of scopes: for each scope (a set of rules that one
// source address looks up together), what decides each destination. A
// small scope is a table of the destination prefixes its rules name, each
// with the code of the rules naming it; a larger one the prefixes searched
// by longest match, each with the code of the rules deciding addresses
// whose longest match it is (docs/policy.md, "Destinations").
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "config/model.h"
#include "policy/compiled_policy.h"
#include "policy/longest_match.h"

namespace sluice::policy {

class RuleGroups;

// The maps' room for one generation, and what one rule may be blamed for.
struct Usage {
  const char* what;
  std::size_t limit;
  std::size_t used = 0;
  std::vector<std::size_t> by_rule;

  void add(const Usage& other) {
    used += other.used;
    for (std::size_t r = 0; r < by_rule.size() && r < other.by_rule.size(); ++r)
      by_rule[r] += other.by_rule[r];
  }
};

class ScopeDestinations {
 public:
  // Entries go to out (targets, tables, length sets), counted in targets
  // and tables; codes come from groups.
  ScopeDestinations(const std::vector<config::Rule>& rules, RuleGroups& groups, CompiledPolicy& out,
                    Usage& targets, Usage& tables)
      : rules_(rules), groups_(groups), out_(out), targets_(targets), tables_(tables) {}

  // rules: ascending indexes of the scope's rules, all of `context`.
  // Returns the scope's length set for family f (SLUICE_LENGTH_SET_TABLE
  // for a table), 0 when its rules name nothing of f.
  std::uint32_t build(std::uint32_t scope, std::uint8_t context, config::Family f,
                      const std::vector<std::uint32_t>& rules);

  // Moves what `other` (built beside this one, into its own output) made
  // since the last call into this one's output. Its length sets join this
  // one's, so their ids change: other.final_id() says to what.
  void absorb(ScopeDestinations& other);
  // The id a length set id build() returned has in the end.
  std::uint32_t final_id(std::uint32_t id) const;

 private:
  struct Named {
    config::Prefix prefix;
    std::uint32_t rule;
  };

  bool build_table(std::uint32_t scope, std::uint8_t context, config::Family f,
                   const std::vector<Named>& named);
  std::vector<MatchEntry> regions(const std::vector<Named>& named);  // in prefix order
  std::uint32_t length_set(const std::vector<std::uint8_t>& lengths);

  const std::vector<config::Rule>& rules_;
  RuleGroups& groups_;
  CompiledPolicy& out_;
  Usage& targets_;
  Usage& tables_;
  std::map<std::vector<std::uint8_t>, std::uint32_t> length_sets_;
  std::array<std::uint32_t, 129> single_length_sets_{};  // by the one length
  std::vector<std::uint32_t> absorbed_as_;  // by id: its id where it was absorbed (0: not yet)
  // Buffers reused between scopes.
  struct Open {
    config::Prefix prefix;
    std::vector<std::uint32_t> rules;
    std::uint32_t group = 0;
  };
  std::vector<Open> open_;
  std::vector<Named> named_;
  std::array<std::size_t, SLUICE_TABLE_ENTRIES> run_begin_{};
  std::array<std::vector<std::uint32_t>, SLUICE_TABLE_ENTRIES> own_;
};

}  // namespace sluice::policy
