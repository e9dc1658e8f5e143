// Which rules can match a source address, as the datapath finds them.
//
// Every prefix a rule names in `from` is the longest named match of some
// addresses; the rules whose `from` contains them are those naming that
// prefix or one containing it. Copying the rules of a wide prefix into
// every prefix nested inside it would cost (rules of the wide prefix) x
// (prefixes inside): a /8 with 50,000 hosts inside is 50,000 copies. So a
// prefix with many named prefixes inside it (a *cut*) keeps its rules in
// a scope of its own that the addresses inside it all look up; at most
// SLUICE_MAX_SOURCE_SCOPES - 1 cuts around one address, the rest of its
// chain (the prefixes below the last cut) in one more scope. Prefixes with
// the same rules share scopes, and so entries: sibling prefixes of one list,
// duplicates.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "config/model.h"
#include "policy/longest_match.h"
#include "sluice/abi.h"

namespace sluice::policy {

class SourceScopes {
 public:
  // A prefix with at least this many named prefixes inside it (itself
  // included) becomes a cut, while cuts around it leave room. A scope
  // costs one map entry when it is small (a destination table), so cutting
  // early is cheap, and it shortens the tails that copy rules down.
  static constexpr std::size_t kCutSize = 2;

  // The rules (ascending indexes into all) of one context; scope ids start
  // after first_id.
  SourceScopes(const std::vector<config::Rule>& all, const std::vector<std::uint32_t>& rules,
               std::uint32_t first_id);

  // Scopes are first_id + 1 .. first_id + scope_count(); SLUICE_SCOPE_ANY
  // (0) is the rules from "any".
  std::uint32_t scope_count() const { return static_cast<std::uint32_t>(scopes_.size()); }
  const std::vector<std::uint32_t>& scope_rules(std::uint32_t id) const {
    return scopes_[id - first_id_ - 1].rules;
  }
  // Bit per family_slot: some address of that family looks the scope up.
  unsigned scope_families(std::uint32_t id) const { return scopes_[id - first_id_ - 1].families; }

  // What the search finds: values 1.. index source_values() (minus one),
  // whose scope refs hold scope ids (length sets are the compiler's).
  const std::array<std::vector<MatchEntry>, 2>& prefixes() const { return prefixes_; }
  const std::vector<sluice_class_value>& source_values() const { return values_; }

 private:
  std::uint32_t first_id_;
  struct Scope {
    std::vector<std::uint32_t> rules;
    unsigned families = 0;
  };
  std::vector<Scope> scopes_;
  std::vector<sluice_class_value> values_;
  std::array<std::vector<MatchEntry>, 2> prefixes_;
};

}  // namespace sluice::policy
