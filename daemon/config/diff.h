// What applying one config over another changes, rule by rule (rules are
// matched by name), plus chain defaults and interfaces.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace sluice::config {

struct Change {
  enum class Kind { Added, Removed, Changed, Moved };
  Kind kind;
  std::string what;    // "rule 'ssh'", "chain input", "interface eth1"
  std::string detail;  // the new form, or "old -> new"
};

const char* to_string(Change::Kind k);

std::vector<Change> diff(const Config& from, const Config& to);

}  // namespace sluice::config
