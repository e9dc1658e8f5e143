// Groups: the distinct ordered rule lists the scopes' destinations need,
// each stored once however many (source class, destination prefix) regions
// share it, with its protocol/port part as the datapath decides it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "policy/compiled_policy.h"

namespace sluice::policy {

class RuleGroups {
 public:
  explicit RuleGroups(const std::vector<config::Rule>& rules);
  ~RuleGroups();

  // The id of the group of these rules (ascending rule indexes), from 1.
  std::uint32_t intern(const std::vector<std::uint32_t>& rule_indexes);

  // Whether a rule matches every packet its addresses match: the rules
  // after it in a group can never decide.
  bool matches_all_traffic(std::uint32_t rule) const { return catch_all_[rule]; }

  std::size_t size() const { return lists_.size(); }

  // How many distinct groups each rule is part of (for capacity errors).
  const std::vector<std::size_t>& groups_per_rule() const { return groups_per_rule_; }

  // Every group's entry and, for large groups, its decision entries.
  void emit(CompiledPolicy& out) const;

  struct Item;  // a rule's protocol and port range

 private:
  std::vector<std::vector<Item>> items_;  // by rule index
  std::vector<bool> catch_all_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::vector<std::uint32_t>> lists_;  // by id - 1
  std::vector<std::size_t> groups_per_rule_;

  void emit_inline(std::uint32_t id, const std::vector<Item>& items, CompiledPolicy& out) const;
  void emit_expanded(std::uint32_t id, const std::vector<Item>& items, CompiledPolicy& out) const;
};

}  // namespace sluice::policy
