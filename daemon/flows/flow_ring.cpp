#include "flows/flow_ring.h"

#include <algorithm>

namespace sluice::flows {

FlowRing::FlowRing(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

std::uint64_t FlowRing::add(FlowRecord r) {
  std::vector<FlowRecord> one;
  one.push_back(std::move(r));
  add_batch(one, /*keep=*/true);
  return one.front().id;
}

void FlowRing::add_batch(std::vector<FlowRecord>& batch, bool keep) {
  if (batch.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (auto& r : batch) {
      r.id = next_id_++;
      while (records_.size() >= capacity_) records_.pop_front();
      if (keep)
        records_.push_back(r);
      else
        records_.push_back(std::move(r));
    }
  }
  changed_.notify_all();
}

std::vector<FlowRecord> FlowRing::query(const FlowFilter& filter, std::uint64_t after_id,
                                        std::size_t limit, bool newest_first) const {
  std::vector<FlowRecord> out;
  std::lock_guard lock(mutex_);
  // Ids increase along the deque: skip straight to the first one wanted.
  auto first = std::upper_bound(records_.begin(), records_.end(), after_id,
                                [](std::uint64_t id, const FlowRecord& r) { return id < r.id; });
  if (newest_first) {
    for (auto it = records_.end(); it != first && out.size() < limit;) {
      --it;
      if (filter.matches(*it)) out.push_back(*it);
    }
    std::reverse(out.begin(), out.end());
    return out;
  }
  for (auto it = first; it != records_.end() && out.size() < limit; ++it)
    if (filter.matches(*it)) out.push_back(*it);
  return out;
}

std::uint64_t FlowRing::wait_after(std::uint64_t after_id,
                                   std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return closed_ || next_id_ - 1 > after_id; });
  return next_id_ - 1;
}

void FlowRing::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool FlowRing::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::uint64_t FlowRing::last_id() const {
  std::lock_guard lock(mutex_);
  return next_id_ - 1;
}

std::size_t FlowRing::capacity() const {
  std::lock_guard lock(mutex_);
  return capacity_;
}

std::uint64_t FlowRing::first_id() const {
  std::lock_guard lock(mutex_);
  return records_.empty() ? next_id_ : records_.front().id;
}

void FlowRing::set_capacity(std::size_t capacity) {
  std::lock_guard lock(mutex_);
  capacity_ = std::max<std::size_t>(capacity, 1);
  while (records_.size() > capacity_) records_.pop_front();
}

void FlowRing::continue_after(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  next_id_ = std::max(next_id_, id + 1);
}

std::size_t FlowRing::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

}  // namespace sluice::flows
