// The flow log's history in sqlite: records queued by the daemon loop,
// written in batches by a thread of its own (the loop never waits for the
// disk), read by queries on a second connection, trimmed by age and size.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flows/flow_filter.h"
#include "flows/flow_record.h"

namespace sluice::store {

class Database;

struct Retention {
  std::uint64_t max_age_seconds = 7 * 86400;
  std::uint64_t max_bytes = 256ull << 20;
};

class FlowHistory {
 public:
  // Opens (creating) the database at path. Throws store::Error.
  FlowHistory(const std::string& path, Retention retention);
  // Writes what is queued, then stops the writer.
  ~FlowHistory();
  FlowHistory(const FlowHistory&) = delete;
  FlowHistory& operator=(const FlowHistory&) = delete;

  void set_retention(Retention r);

  // Queues a record (with its id set) for writing. When the writer is
  // that far behind, the record is not kept and counted as lost.
  void add(const flows::FlowRecord& r);
  void add_batch(std::vector<flows::FlowRecord>&& batch);
  // Writes everything queued so far before returning.
  void flush();

  // Records matching filter with after_id < id < before_id (0: no upper
  // bound), at most limit, oldest first; with newest_first the newest
  // such records (still returned oldest first). Records queued and not yet
  // written are answered too: the memory ring may have let them go already.
  std::vector<flows::FlowRecord> query(const flows::FlowFilter& filter, std::uint64_t after_id,
                                       std::uint64_t before_id, std::size_t limit,
                                       bool newest_first) const;

  std::uint64_t last_id() const;  // the highest id stored, 0 when empty

  // Removes rows older than the retention age, then the oldest rows until
  // the tables use no more than the retention size. Returns rows removed.
  std::uint64_t apply_retention();

  struct Stats {
    std::uint64_t written = 0;
    std::uint64_t lost = 0;  // queue full, or a write that failed
    std::uint64_t write_errors = 0;
    std::uint64_t removed = 0;  // by retention
    std::string last_error;     // empty when the last write worked
  };
  Stats stats() const;
  const std::string& path() const { return path_; }

  static constexpr std::size_t kMaxQueued = 50000;  // about 15 MB of records

 private:
  void writer_loop();
  void set_last_error(std::string error);  // empty: the last write worked
  // Stores batch in one transaction; returns how many of its records
  // (from the front) were stored, or lost to a failed write. An
  // interruptible write stops early, committing what it has, once the
  // history is stopping: the stopping thread stores the rest.
  std::size_t write_batch(const std::vector<flows::FlowRecord>& batch, bool interruptible);
  // The stored records query() wants: at most limit, by id (down when
  // newest_first).
  std::vector<flows::FlowRecord> stored_matching(const flows::FlowFilter& filter,
                                                 std::uint64_t after_id, std::uint64_t before_id,
                                                 std::size_t limit, bool newest_first) const;
  // The queued and in-flight records query() wants, oldest first.
  std::vector<flows::FlowRecord> pending_matching(const flows::FlowFilter& filter,
                                                  std::uint64_t after_id,
                                                  std::uint64_t before_id) const;

  std::string path_;
  std::unique_ptr<Database> writer_db_;  // used by the writer thread only (and retention)
  std::unique_ptr<Database> reader_db_;  // queries, under read_mutex_
  mutable std::mutex read_mutex_;
  std::mutex write_mutex_;  // writer_db_: the thread vs apply_retention()

  mutable std::mutex mutex_;  // the queue and the hand-over below (not the stats)
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::vector<flows::FlowRecord> queue_;
  // The batch the writer is storing, taken from queue_: answered from
  // here until it is committed.
  std::shared_ptr<const std::vector<flows::FlowRecord>> writing_;
  std::uint64_t queued_total_ = 0;  // records ever queued
  std::uint64_t done_total_ = 0;    // records written or lost by the writer
  Retention retention_;
  // What stats() reports, apart from mutex_: status reads it on every
  // request, and the writer runs at idle priority, so a reader waiting on
  // mutex_ while the writer holds it waits until the writer next gets a
  // CPU, up to 100 ms on cores busy with a flood. The writer takes
  // error_mutex_ only when the error changes (failing_ says whether one
  // is set).
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> write_errors_{0};
  std::atomic<std::uint64_t> removed_{0};
  std::atomic<bool> failing_{false};
  mutable std::mutex error_mutex_;
  std::string last_error_;
  // Set under mutex_ (the waits' predicates read it there); atomic so that
  // the writer can also check it between rows without the lock.
  std::atomic<bool> stopping_{false};
  bool flush_requested_ = false;
  bool retention_due_ = false;
  std::thread writer_;
};

}  // namespace sluice::store
