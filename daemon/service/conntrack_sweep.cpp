#include "service/conntrack_sweep.h"

#include <algorithm>

#include "datapath/conntrack_translation.h"
#include "datapath/datapath.h"
#include "flows/event_decoder.h"

namespace sluice::service {

ConntrackSweep::Seconds ConntrackSweep::next_interval(Seconds current, std::size_t seen,
                                                      std::size_t removed) {
  Seconds next = current;
  // A quarter or more of what the walk met had expired: flows end faster
  // than the sweep looks; look twice as often.
  if (removed > 0 && removed * 4 >= seen) {
    next = current / 2;
  } else if (removed * 20 < seen + 1) {
    // Under 5%: half as often. A full table is no reason to look more
    // often: what has not expired stays, and the LRU makes room anyway (a
    // flood of new flows fills it with entries evicted long before they
    // expire; a full walk takes about 0.2 s, so walking it every second would
    // spend a fifth of a core freeing nothing).
    next = current * 2;
  }
  return std::clamp(next, kMinInterval, kMaxInterval);
}

ConntrackSweep::Step ConntrackSweep::step(datapath::Datapath& datapath, std::uint64_t now_ns) {
  Step out;
  if (!walking_) {
    walking_ = true;
    current_ = {};
    walk_started_ = Clock::now();
  }
  std::vector<datapath::Datapath::ConntrackEntry> chunk;
  out.walk_done = datapath.read_conntrack_chunk(cursor_, kChunk, chunk);
  current_.seen += chunk.size();
  for (const auto& e : chunk) {
    if (datapath::is_translation(e.value)) {
      // Its flow's end, eviction or expiry (maybe in this very walk)
      // left it stale: it goes, unreported (the flow is what is reported).
      if (datapath.remove_stale_translation(e)) ++current_.removed;
      continue;
    }
    if (!flows::conntrack_expired(e.key, e.value, now_ns)) continue;
    if (!datapath.remove_expired_conntrack(e)) continue;  // refreshed since it was read
    ++current_.removed;
    out.removed.emplace_back(e.key, e.value);
  }
  if (out.walk_done) {
    walking_ = false;
    current_.seconds = Seconds(Clock::now() - walk_started_).count();
    last_ = current_;
    interval_ = next_interval(interval_, current_.seen, current_.removed);
    next_walk_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(interval_);
  }
  return out;
}

}  // namespace sluice::service
