// Port ranges as bit prefixes, so that hash probes per prefix length can
// match them (see docs/policy.md).
#pragma once

#include <cstdint>
#include <vector>

namespace sluice::policy {

struct PortPrefix {
  std::uint16_t value = 0;  // host order, bits below length are zero
  std::uint8_t length = 0;  // 0..16 leading bits that must match
  bool operator==(const PortPrefix&) const = default;
};

// The fewest prefixes whose union is exactly [first, last] (at most 30).
std::vector<PortPrefix> port_range_prefixes(std::uint16_t first, std::uint16_t last);

}  // namespace sluice::policy
