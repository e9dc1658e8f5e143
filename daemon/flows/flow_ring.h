// The last N flow records in memory, shared by the daemon loop (which
// records) and API/CLI readers (which query and follow). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "flows/flow_filter.h"
#include "flows/flow_record.h"

namespace sluice::flows {

class FlowRing {
 public:
  explicit FlowRing(std::size_t capacity);

  // Stores r with the next id (returned); the oldest record goes when full.
  std::uint64_t add(FlowRecord r);
  // The same for many records under one lock: each gets its id in batch;
  // they are copied in when keep is true, else moved.
  void add_batch(std::vector<FlowRecord>& batch, bool keep);

  // Up to limit records matching filter with an id above after_id, oldest
  // first. With newest_first, the newest matches instead (still returned
  // oldest first): what `sluicectl flows` shows by default.
  std::vector<FlowRecord> query(const FlowFilter& filter, std::uint64_t after_id, std::size_t limit,
                                bool newest_first = false) const;

  // Waits until a record with an id above after_id exists, the timeout
  // passes or close() is called. Returns the newest id.
  std::uint64_t wait_after(std::uint64_t after_id, std::chrono::milliseconds timeout) const;

  // Wakes every waiter for good (daemon shutdown).
  void close();
  bool closed() const;

  std::uint64_t last_id() const;
  std::size_t size() const;
  std::size_t capacity() const;
  // The oldest id still held; last_id() + 1 when empty.
  std::uint64_t first_id() const;

  // Keeps at most capacity records from now on (the oldest go first).
  void set_capacity(std::size_t capacity);
  // Numbers new records after id (ids stay unique across restarts when
  // the history's last id is given). Only moves forward.
  void continue_after(std::uint64_t id);

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<FlowRecord> records_;
  std::uint64_t next_id_ = 1;
  bool closed_ = false;
};

}  // namespace sluice::flows
