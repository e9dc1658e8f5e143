// What reconciling sluice's own routes or addresses with the kernel did.
#pragma once

#include <string>
#include <vector>

namespace sluice::net {

struct Changes {
  int added = 0, removed = 0, kept = 0;
  std::vector<std::string> problems;  // what could not be set, and why
};

}  // namespace sluice::net
