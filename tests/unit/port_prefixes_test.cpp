#include "policy/port_prefixes.h"

#include <gtest/gtest.h>

#include <random>

namespace {

using sluice::policy::port_range_prefixes;
using sluice::policy::PortPrefix;

bool covered(const std::vector<PortPrefix>& pps, unsigned port) {
  for (auto pp : pps) {
    unsigned mask = pp.length == 0 ? 0 : (0xffffu << (16 - pp.length)) & 0xffff;
    if ((port & mask) == pp.value) return true;
  }
  return false;
}

TEST(PortPrefixes, KnownCovers) {
  EXPECT_EQ(port_range_prefixes(80, 80), (std::vector<PortPrefix>{{80, 16}}));
  EXPECT_EQ(port_range_prefixes(0, 65535), (std::vector<PortPrefix>{{0, 0}}));
  EXPECT_EQ(port_range_prefixes(1024, 65535).size(), 6u);
  EXPECT_EQ(port_range_prefixes(1, 65534).size(), 30u);  // the worst case
}

TEST(PortPrefixes, ExactlyTheRangeForRandomRanges) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    unsigned a = rng() % 65536, b = rng() % 65536;
    if (a > b) std::swap(a, b);
    auto pps = port_range_prefixes(static_cast<uint16_t>(a), static_cast<uint16_t>(b));
    EXPECT_LE(pps.size(), 30u);
    for (unsigned p :
         {0u, a - 1, a, (a + b) / 2, b, b + 1, 65535u, static_cast<unsigned>(rng() % 65536)}) {
      if (p > 65535) continue;
      EXPECT_EQ(covered(pps, p), p >= a && p <= b) << a << "-" << b << " port " << p;
    }
  }
}

}  // namespace
