#include "proxy/admission.h"

namespace sluice::proxy {

Admission::Verdict Admission::admit(const std::string& source, std::size_t max_total,
                                    std::size_t max_per_source) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total) return Verdict::Full;
  auto& count = per_source_[source];
  if (count >= max_per_source) return Verdict::SourceFull;
  ++count;
  ++total_;
  return Verdict::Admitted;
}

void Admission::release(const std::string& source) {
  std::lock_guard lock(mutex_);
  auto it = per_source_.find(source);
  if (it == per_source_.end()) return;
  --total_;
  if (--it->second == 0) per_source_.erase(it);
}

std::size_t Admission::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace sluice::proxy
