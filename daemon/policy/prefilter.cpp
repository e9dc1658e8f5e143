#include "policy/prefilter.h"

#include <algorithm>
#include <set>

namespace sluice::policy {

namespace {

// Prefixes of one family, for "is this prefix inside one of them" with one
// set lookup per distinct length (usually a handful) instead of a scan.
class PrefixSet {
 public:
  void add(const config::Prefix& p) {
    prefixes_.insert(p);
    lengths_.insert(p.length);
  }
  // Whether p lies inside (or equals) a member no longer than max_length.
  bool covers(const config::Prefix& p, int max_length) const {
    for (auto len : lengths_) {
      if (len > p.length || len > max_length) break;
      config::Prefix outer = p;
      outer.length = len;
      if (prefixes_.count(config::masked(outer))) return true;
    }
    return false;
  }

 private:
  std::set<config::Prefix> prefixes_;
  std::set<std::uint8_t> lengths_;  // ascending
};

}  // namespace

void compile_prefilter(const config::Config& cfg, CompiledPolicy& out) {
  out.prefilter.clear();
  out.prefilter_exempt.clear();
  out.prefilter_left_out = 0;
  if (cfg.prefilter.drop_from_set.empty()) return;
  const auto& blocked = cfg.sets.at(cfg.prefilter.drop_from_set).prefixes;

  const config::Endpoint* management = nullptr;
  for (const auto& r : cfg.rules)
    if (r.implicit && r.name == config::kAntiLockoutRule) management = &r.from;
  if (!management) {
    out.prefilter = blocked;
    return;
  }
  if (management->any) {  // management from anywhere: nothing may be dropped before policy
    out.prefilter_left_out = blocked.size();
    return;
  }
  PrefixSet mgmt;
  for (const auto& m : management->prefixes) mgmt.add(config::masked(m));
  PrefixSet kept;
  for (const auto& p : blocked) {
    if (mgmt.covers(p, p.length)) {
      ++out.prefilter_left_out;
      continue;
    }
    out.prefilter.push_back(p);
    kept.add(p);
  }
  // A management prefix is exempt where a shorter blocked prefix holds it.
  for (const auto& m : management->prefixes) {
    auto exact = config::masked(m);
    if (kept.covers(exact, exact.length - 1) &&
        std::find(out.prefilter_exempt.begin(), out.prefilter_exempt.end(), exact) ==
            out.prefilter_exempt.end())
      out.prefilter_exempt.push_back(exact);
  }
}

}  // namespace sluice::policy
