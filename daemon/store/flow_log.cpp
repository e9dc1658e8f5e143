#include "store/flow_log.h"

#include <algorithm>

#include "common/log.h"
#include "store/database.h"
#include "store/flow_history.h"

namespace sluice::store {

FlowLog::FlowLog(std::string database_path)
    : ring_(config::FlowLog{}.memory), database_path_(std::move(database_path)) {}

FlowLog::~FlowLog() = default;

void FlowLog::configure(const config::FlowLog& settings) {
  ring_.set_capacity(settings.memory);
  store::Retention retention{settings.history_max_age_seconds, settings.history_max_mb << 20};
  std::lock_guard lock(mutex_);
  if (!settings.history || database_path_.empty()) {
    history_.reset();
    error_.clear();
    return;
  }
  if (history_) {
    history_->set_retention(retention);
    return;
  }
  try {
    history_ = std::make_shared<store::FlowHistory>(database_path_, retention);
    error_.clear();
    ring_.continue_after(history_->last_id());
  } catch (const store::Error& e) {
    error_ = e.what();
    log(Priority::Error,
        std::string("flow history unavailable, flows are kept in memory only: ") + e.what());
  }
}

std::shared_ptr<store::FlowHistory> FlowLog::history() const {
  std::lock_guard lock(mutex_);
  return history_;
}

void FlowLog::record(std::vector<flows::FlowRecord>&& batch) {
  auto h = history();
  ring_.add_batch(batch, /*keep=*/h != nullptr);
  if (h) h->add_batch(std::move(batch));
}

std::vector<flows::FlowRecord> FlowLog::query(const flows::FlowFilter& filter,
                                              std::uint64_t after_id, std::size_t limit,
                                              bool newest_first) const {
  // Memory holds every id from first_id() on; the history what came before.
  std::uint64_t first = ring_.first_id();
  auto h = history();
  if (!h || after_id + 1 >= first) return ring_.query(filter, after_id, limit, newest_first);
  std::vector<flows::FlowRecord> out;
  try {
    if (newest_first) {
      out = ring_.query(filter, after_id, limit, true);
      if (out.size() < limit) {
        auto older = h->query(filter, after_id, first, limit - out.size(), true);
        out.insert(out.begin(), older.begin(), older.end());
      }
      return out;
    }
    out = h->query(filter, after_id, first, limit, false);
  } catch (const store::Error& e) {
    log(Priority::Warning,
        std::string("flow history query failed, answering from memory: ") + e.what());
    return ring_.query(filter, after_id, limit, newest_first);
  }
  if (out.size() < limit) {
    auto newer = ring_.query(filter, std::max(after_id, first - 1), limit - out.size(), false);
    out.insert(out.end(), newer.begin(), newer.end());
  }
  return out;
}

FlowLog::HistoryStatus FlowLog::history_status() const {
  HistoryStatus s;
  s.path = database_path_;
  std::lock_guard lock(mutex_);
  s.error = error_;
  if (history_) {
    auto st = history_->stats();
    s.enabled = true;
    s.written = st.written;
    s.lost = st.lost;
    s.removed = st.removed;
    if (!st.last_error.empty()) s.error = st.last_error;
  }
  return s;
}

void FlowLog::flush() {
  if (auto h = history()) h->flush();
}

}  // namespace sluice::store
