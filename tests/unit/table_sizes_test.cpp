// The conntrack table's size from the host's memory (datapath/table_sizes.cpp).
#include "datapath/table_sizes.h"

#include <gtest/gtest.h>

namespace sluice::datapath {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;

TEST(TableSizes, OnePercentOfMemoryInFlowsRoundedDownToAPowerOfTwo) {
  EXPECT_EQ(conntrack_entries_for_memory(24 * kGiB), 262144u) << "this machine: as before";
  EXPECT_EQ(conntrack_entries_for_memory(64 * kGiB), 1048576u);
  EXPECT_EQ(conntrack_entries_for_memory(8 * kGiB), 131072u);
}

TEST(TableSizes, NeverFewerThan64kNorMoreThan4MFlows) {
  EXPECT_EQ(conntrack_entries_for_memory(512ull << 20), 65536u);
  EXPECT_EQ(conntrack_entries_for_memory(0), 65536u);
  EXPECT_EQ(conntrack_entries_for_memory(4096 * kGiB), 4194304u);
}

TEST(TableSizes, TheHostsMemoryIsRead) { EXPECT_GT(host_memory_bytes(), 64ull << 20); }

}  // namespace
}  // namespace sluice::datapath
