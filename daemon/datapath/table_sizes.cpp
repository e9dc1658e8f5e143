#include "datapath/table_sizes.h"

#include <unistd.h>

#include <algorithm>
#include <bit>

namespace sluice::datapath {

std::size_t conntrack_entries_for_memory(std::uint64_t memory_bytes) {
  constexpr std::uint64_t kFewest = 131072, kMost = 8388608;
  std::uint64_t entries = memory_bytes / 100 / kBytesPerEntry;
  entries = std::clamp(entries, kFewest, kMost);
  return static_cast<std::size_t>(std::bit_floor(entries));
}

std::size_t conntrack_other_entries_for(std::size_t tcp_entries) {
  return std::max<std::size_t>(tcp_entries / 2, 1024);
}

std::uint64_t host_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
             : 0;
}

}  // namespace sluice::datapath
