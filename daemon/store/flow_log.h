// The flow log as the daemon keeps it: the newest records in memory, all
// of them (within retention) in the sqlite history, queried as one. A
// history that cannot be opened or written is reported and the log keeps
// working from memory; the firewall never depends on it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/model.h"
#include "flows/flow_filter.h"
#include "flows/flow_record.h"
#include "flows/flow_ring.h"

namespace sluice::store {

class FlowHistory;

class FlowLog {
 public:
  // database_path empty: memory only.
  explicit FlowLog(std::string database_path);
  ~FlowLog();

  // Applies [flows]: memory size, history on/off, retention. Opening the
  // history may fail: the error is kept (history_error()) and logged.
  void configure(const config::FlowLog& settings);

  // Records a batch (one lock each for memory and history): each gets
  // its id here.
  void record(std::vector<flows::FlowRecord>&& batch);

  // Like FlowRing::query, over memory and history together.
  std::vector<flows::FlowRecord> query(const flows::FlowFilter& filter, std::uint64_t after_id,
                                       std::size_t limit, bool newest_first) const;

  const flows::FlowRing& ring() const { return ring_; }

  struct HistoryStatus {
    bool enabled = false;
    std::string path;
    std::string error;  // why it is not working, empty when it is
    std::uint64_t written = 0, lost = 0, removed = 0;
  };
  HistoryStatus history_status() const;

  // Writes what is queued (stop, tests).
  void flush();
  // Wakes and ends everyone following the log (shutdown).
  void close() { ring_.close(); }

 private:
  std::shared_ptr<FlowHistory> history() const;

  flows::FlowRing ring_;
  std::string database_path_;
  mutable std::mutex mutex_;  // history_ and error_
  std::shared_ptr<FlowHistory> history_;
  std::string error_;
};

}  // namespace sluice::store
