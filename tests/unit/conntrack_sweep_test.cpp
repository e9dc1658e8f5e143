// How often the conntrack sweep walks the table, from what its last walk
// found (service/conntrack_sweep.cpp).
#include "service/conntrack_sweep.h"

#include <gtest/gtest.h>

namespace sluice::service {
namespace {

double after(double current, std::size_t seen, std::size_t removed) {
  return ConntrackSweep::next_interval(ConntrackSweep::Seconds(current), seen, removed).count();
}

TEST(ConntrackSweep, WalksSoonerWhenMuchHadExpired) {
  EXPECT_DOUBLE_EQ(after(5, 1000, 250), 2.5) << "a quarter of what it met had expired";
  EXPECT_DOUBLE_EQ(after(1.5, 1000, 900), 1.0) << "never under a second";
}

TEST(ConntrackSweep, WalksLaterWhenLittleHadExpired) {
  EXPECT_DOUBLE_EQ(after(5, 1000, 10), 10.0) << "1% expired";
  EXPECT_DOUBLE_EQ(after(5, 0, 0), 10.0) << "an empty table";
  EXPECT_DOUBLE_EQ(after(15, 0, 0), 20.0) << "never over 20 s";
  EXPECT_DOUBLE_EQ(after(5, 262144, 0), 10.0)
      << "a full table of live (or soon evicted) flows: walking it more often frees nothing";
}

TEST(ConntrackSweep, KeepsItsPaceInBetween) {
  EXPECT_DOUBLE_EQ(after(5, 1000, 100), 5.0) << "10% expired";
}

}  // namespace
}  // namespace sluice::service
