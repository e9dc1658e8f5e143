// The conntrack table's size from the host's memory (datapath/table_sizes.cpp).
#include "datapath/table_sizes.h"

#include <gtest/gtest.h>

namespace sluice::datapath {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;

TEST(TableSizes, OnePercentOfMemoryInEntriesRoundedDownToAPowerOfTwo) {
  // 24 GiB: 1,238,932 entries of 208 bytes fit in 1%.
  EXPECT_EQ(conntrack_entries_for_memory(24 * kGiB), 1048576u);
  EXPECT_EQ(conntrack_entries_for_memory(64 * kGiB), 2097152u);
  EXPECT_EQ(conntrack_entries_for_memory(8 * kGiB), 262144u);
}

TEST(TableSizes, NeverFewerThan128kNorMoreThan8MEntries) {
  EXPECT_EQ(conntrack_entries_for_memory(512ull << 20), 131072u);
  EXPECT_EQ(conntrack_entries_for_memory(0), 131072u);
  EXPECT_EQ(conntrack_entries_for_memory(4096 * kGiB), 8388608u);
}

TEST(TableSizes, TheHostsMemoryIsRead) { EXPECT_GT(host_memory_bytes(), 64ull << 20); }

}  // namespace
}  // namespace sluice::datapath
