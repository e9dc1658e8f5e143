// Which of the compiler's structures a run of random rulesets used: each
// must be, or agreement with the reference says nothing about it.
#pragma once

#include <gtest/gtest.h>

#include "policy/compiled_policy.h"

namespace sluice::testkit {

struct StructuresUsed {
  int tables = 0, targets = 0, inline_groups = 0, expanded_groups = 0;

  void add(const policy::CompiledPolicy& c) {
    tables += !c.tables.empty();
    targets += !c.targets.empty();
    bool inline_group = false;
    for (const auto& g : c.groups) inline_group |= g.value.inline_count > 0;
    inline_groups += inline_group;
    expanded_groups += !c.decisions.empty();
  }
  void expect_each_used() const {
    EXPECT_GT(tables, 0) << "no ruleset had a destination table";
    EXPECT_GT(targets, 0) << "no ruleset had a destination search";
    EXPECT_GT(inline_groups, 0) << "no ruleset had a group with its items inline";
    EXPECT_GT(expanded_groups, 0) << "no ruleset had a group with decision entries";
  }
};

}  // namespace sluice::testkit
