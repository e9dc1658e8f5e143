// What flow records call the containers at their ends (CNI mode): the
// workload's name and labels, found by address and by the identity the
// datapath saw. An immutable snapshot, replaced whenever workloads or
// their labels change.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace sluice::flows {

struct WorkloadNames {
  struct Named {
    std::string name;
    std::uint32_t identity = 0;
  };
  std::map<std::uint32_t, std::string> labels;  // identity -> "app=web, tier=front"
  std::map<std::string, Named> by_address;      // address as text -> the workload

  // "web-1 (app=web)" for the workload at address, with the labels of
  // identity when the datapath saw one (else its current ones); "" when
  // the address is no workload's and identity unknown.
  std::string describe(const std::string& address, std::uint32_t identity = 0) const;
};

}  // namespace sluice::flows
