// Groups: the distinct ordered rule lists the scopes' destinations need,
// each stored once however many (source class, destination prefix) regions
// share it, with its protocol/port part as the datapath decides it.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "policy/compiled_policy.h"
#include "policy/index_list_hash.h"

namespace sluice::policy {

class RuleGroups {
 public:
  // Group ids are first_id, first_id + id_step, ...: two sets of groups
  // built side by side (on two threads) take step 2, first 1 and 2, and
  // their ids never meet.
  explicit RuleGroups(const std::vector<config::Rule>& rules, std::uint32_t first_id = 1,
                      std::uint32_t id_step = 1);
  // More groups over the same rules.
  RuleGroups(const RuleGroups& same_rules, std::uint32_t first_id, std::uint32_t id_step);
  ~RuleGroups();

  // What a destination of these rules (ascending indexes) decides, as a
  // code for the longest-match search (0 is "nothing"): a group id, or for
  // a single rule with a single protocol/port item, the rule itself.
  std::uint32_t code_for(const std::vector<std::uint32_t>& rule_indexes);

  // The item carried beside a code naming a rule (SLUICE_CODE_RULE);
  // nothing for a group.
  sluice_inline_match item_of(std::uint32_t code) const;

  // Whether the code's rules decide in place (a single item, or a group
  // with its items inline): what a destination table may name.
  bool decides_inline(const std::vector<std::uint32_t>& rule_indexes) const;

  // Whether a rule matches every packet its addresses match: the rules
  // after it in a group can never decide.
  bool matches_all_traffic(std::uint32_t rule) const;

  // How many distinct groups each rule is part of (for capacity errors).
  const std::vector<std::size_t>& groups_per_rule() const { return groups_per_rule_; }
  // Adds the counts of another set of groups (its groups are emitted by
  // itself).
  void count_groups_of(const RuleGroups& other);

  // Every group's entry and, for large groups, its decision entries.
  void emit(CompiledPolicy& out) const;

  struct Item;  // a rule's protocol and port range

 private:
  struct Rules;  // what each rule says about protocol and port, shared
  std::shared_ptr<const Rules> rules_;
  std::uint32_t first_id_ = 1, id_step_ = 1;
  std::unordered_map<std::vector<std::uint32_t>, std::uint32_t, IndexListHash> ids_;
  std::vector<std::uint32_t> single_rule_ids_;     // group of one rule, by rule; 0: none yet
  std::vector<std::vector<std::uint32_t>> lists_;  // by (id - first_id_) / id_step_
  std::vector<std::size_t> groups_per_rule_;

  std::uint32_t intern(const std::vector<std::uint32_t>& rule_indexes);
  void emit_inline(std::uint32_t id, const std::vector<Item>& items, CompiledPolicy& out) const;
  void emit_expanded(std::uint32_t id, const std::vector<Item>& items, CompiledPolicy& out) const;
};

}  // namespace sluice::policy
