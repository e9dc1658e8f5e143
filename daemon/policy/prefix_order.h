// An order on prefixes in which a prefix comes before every prefix it
// contains, and the prefixes it contains follow it without a gap: a walk
// with a stack of the open ones finds each prefix's closest container.
#pragma once

#include <endian.h>

#include <cstring>
#include <utility>

#include "config/address.h"

namespace sluice::policy {

// The address as two big-endian words: compares like the bytes, faster.
inline std::pair<std::uint64_t, std::uint64_t> address_words(const config::Prefix& p) {
  std::uint64_t hi, lo;
  std::memcpy(&hi, p.addr.data(), 8);
  std::memcpy(&lo, p.addr.data() + 8, 8);
  return {be64toh(hi), be64toh(lo)};
}

// (family, address, length).
inline bool prefix_less(const config::Prefix& a, const config::Prefix& b) {
  if (a.family != b.family) return a.family < b.family;
  auto wa = address_words(a), wb = address_words(b);
  if (wa != wb) return wa < wb;
  return a.length < b.length;
}

}  // namespace sluice::policy
