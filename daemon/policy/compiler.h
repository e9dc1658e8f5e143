// Ruleset -> map contents. Pure: no I/O, no kernel. See docs/policy.md for
// why the result decides a new flow in a fixed number of lookups.
#pragma once

#include <stdexcept>

#include "config/model.h"
#include "policy/compiled_policy.h"

namespace sluice::policy {

// Thrown when a valid config does not fit the datapath's limits.
class CapacityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

CompiledPolicy compile(const config::Config& cfg);

}  // namespace sluice::policy
