// The conntrack sweep: flows idle past their state's timeout are removed
// from the table and handed back to be reported closed, and translations
// whose flow is gone are removed (unreported). The table is
// walked a chunk at a time, one chunk per turn of the daemon's loop, so
// that events, the API and the control socket are served between chunks
// however full the table is; no lock is held while walking. How often a
// walk starts adapts to what the last one found: sooner when it removed
// much, later when it removed little.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "datapath/conntrack_cursor.h"
#include "sluice/abi.h"

namespace sluice::datapath {
class Datapath;
}  // namespace sluice::datapath

namespace sluice::service {

class ConntrackSweep {
 public:
  using Clock = std::chrono::steady_clock;
  using Seconds = std::chrono::duration<double>;

  // Bounds of the interval between walks, and where it starts.
  static constexpr Seconds kMinInterval{1.0};
  static constexpr Seconds kMaxInterval{20.0};
  static constexpr Seconds kFirstInterval{5.0};
  // Entries read per turn: a few milliseconds of work.
  static constexpr std::size_t kChunk = 4096;

  // The interval after a walk that met `seen` entries and removed
  // `removed` of them.
  static Seconds next_interval(Seconds current, std::size_t seen, std::size_t removed);

  struct Step {
    std::vector<std::pair<sluice_ct_key, sluice_ct_entry>> removed;
    bool walk_done = false;
  };

  ConntrackSweep() = default;

  // Whether a walk is under way or due to start.
  bool due() const { return walking_ || Clock::now() >= next_walk_; }
  bool walking() const { return walking_; }
  // Reads one chunk, removes what expired by now_ns in it.
  Step step(datapath::Datapath& datapath, std::uint64_t now_ns);

  // For status: the interval in force and what the last whole walk did.
  struct LastWalk {
    std::size_t seen = 0;
    std::size_t removed = 0;
    double seconds = 0;  // from its first chunk to its last
  };
  Seconds interval() const { return interval_; }
  const LastWalk& last_walk() const { return last_; }

 private:
  Seconds interval_ = kFirstInterval;
  Clock::time_point next_walk_ =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(kFirstInterval);
  bool walking_ = false;
  datapath::ConntrackCursor cursor_;
  LastWalk current_, last_;
  Clock::time_point walk_started_{};
};

}  // namespace sluice::service
