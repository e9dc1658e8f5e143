#include "k8s/policy_sets.h"

#include <algorithm>

namespace sluice::k8s {

Addresses intersect(const Addresses& a, const Addresses& b) {
  if (a.any) return b;
  if (b.any) return a;
  Addresses out;
  // Two prefixes overlap only when one holds the other: the smaller one
  // is their intersection.
  for (const auto& x : a.prefixes)
    for (const auto& y : b.prefixes) {
      const config::Prefix* inner = x.contains(y) ? &y : y.contains(x) ? &x : nullptr;
      if (inner &&
          std::find(out.prefixes.begin(), out.prefixes.end(), *inner) == out.prefixes.end())
        out.prefixes.push_back(*inner);
    }
  return out;
}

void add(Addresses& a, const Addresses& b) {
  if (a.any) return;
  if (b.any) {
    a = Addresses{true, {}};
    return;
  }
  for (const auto& p : b.prefixes)
    if (std::find(a.prefixes.begin(), a.prefixes.end(), p) == a.prefixes.end())
      a.prefixes.push_back(p);
}

namespace {

// The two halves of p, one bit longer.
std::pair<config::Prefix, config::Prefix> halves(const config::Prefix& p) {
  config::Prefix low = p, high = p;
  low.length = high.length = static_cast<std::uint8_t>(p.length + 1);
  high.addr[p.length / 8] |= static_cast<std::uint8_t>(0x80u >> (p.length % 8));
  return {low, high};
}

void subtract_into(const config::Prefix& from, const std::vector<config::Prefix>& holes,
                   std::vector<config::Prefix>& out) {
  bool touched = false;
  for (const auto& h : holes) {
    if (h.family != from.family) continue;
    if (h.contains(from)) return;  // all of it is a hole
    if (from.contains(h)) touched = true;
  }
  if (!touched) {
    out.push_back(from);
    return;
  }
  auto [low, high] = halves(from);
  subtract_into(low, holes, out);
  subtract_into(high, holes, out);
}

std::vector<config::PortRange> intersect(const std::vector<config::PortRange>& a,
                                         const std::vector<config::PortRange>& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::vector<config::PortRange> out;
  for (const auto& x : a)
    for (const auto& y : b) {
      auto first = std::max(x.first, y.first), last = std::min(x.last, y.last);
      if (first <= last) out.push_back({first, last});
    }
  return out;
}

}  // namespace

std::vector<config::Prefix> subtract(const config::Prefix& from,
                                     const std::vector<config::Prefix>& holes) {
  std::vector<config::Prefix> out;
  subtract_into(from, holes, out);
  return out;
}

Ports intersect(const Ports& a, const Ports& b) {
  Ports out;
  for (const auto& x : a)
    for (const auto& y : b) {
      PortPiece p;
      if (x.proto == config::Protocol::Any)
        p.proto = y.proto;
      else if (y.proto == config::Protocol::Any || y.proto == x.proto)
        p.proto = x.proto;
      else
        continue;
      bool x_all = x.ranges.empty(), y_all = y.ranges.empty();
      p.ranges = intersect(x.ranges, y.ranges);
      if (p.ranges.empty() && !(x_all && y_all)) continue;  // disjoint ranges
      out.push_back(std::move(p));
    }
  return out;
}

}  // namespace sluice::k8s
