// Config errors: where (file:line:col), which key, what is wrong and what
// would fix it. The parser collects all of them in one pass.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace sluice::config {

struct Diagnostic {
  Location where;
  std::string key;      // dotted path of the offending key, e.g. "rule[2].port"
  std::string message;  // what is wrong, then what would fix it

  // "file:line:col: key: message"
  std::string to_string() const;
};

using Diagnostics = std::vector<Diagnostic>;

std::string format(const Diagnostics& diags);  // one per line

}  // namespace sluice::config
