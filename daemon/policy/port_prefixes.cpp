#include "policy/port_prefixes.h"

namespace sluice::policy {

std::vector<PortPrefix> port_range_prefixes(std::uint16_t first, std::uint16_t last) {
  std::vector<PortPrefix> out;
  std::uint32_t lo = first;
  const std::uint32_t hi = last;
  while (lo <= hi) {
    // Largest aligned block starting at lo that stays within hi.
    int size_bits = 0;
    while (size_bits < 16) {
      std::uint32_t block = 1u << (size_bits + 1);
      if ((lo & (block - 1)) != 0 || lo + block - 1 > hi) break;
      ++size_bits;
    }
    out.push_back({static_cast<std::uint16_t>(lo), static_cast<std::uint8_t>(16 - size_bits)});
    lo += 1u << size_bits;
  }
  return out;
}

}  // namespace sluice::policy
