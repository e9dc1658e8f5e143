// The proxy's connection limits, shared by its worker threads.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "proxy/admission.h"

using sluice::proxy::Admission;

TEST(ProxyAdmission, PerSourceAndTotalLimits) {
  Admission a;
  EXPECT_EQ(a.admit("10.0.0.1", 3, 2), Admission::Verdict::Admitted);
  EXPECT_EQ(a.admit("10.0.0.1", 3, 2), Admission::Verdict::Admitted);
  EXPECT_EQ(a.admit("10.0.0.1", 3, 2), Admission::Verdict::SourceFull);
  EXPECT_EQ(a.admit("10.0.0.2", 3, 2), Admission::Verdict::Admitted);
  EXPECT_EQ(a.admit("10.0.0.3", 3, 2), Admission::Verdict::Full);
  EXPECT_EQ(a.total(), 3u);
  a.release("10.0.0.1");
  EXPECT_EQ(a.admit("10.0.0.3", 3, 2), Admission::Verdict::Admitted);
  EXPECT_EQ(a.admit("10.0.0.1", 3, 2), Admission::Verdict::Full);
}

TEST(ProxyAdmission, ReleaseOfAnUnknownSourceChangesNothing) {
  Admission a;
  EXPECT_EQ(a.admit("10.0.0.1", 10, 1), Admission::Verdict::Admitted);
  a.release("10.0.0.9");
  EXPECT_EQ(a.total(), 1u);
  a.release("10.0.0.1");
  EXPECT_EQ(a.total(), 0u);
  EXPECT_EQ(a.admit("10.0.0.1", 10, 1), Admission::Verdict::Admitted);
}

// Threads admitting and releasing at once never let more in than the limit
// and leave nothing counted behind.
TEST(ProxyAdmission, ConcurrentWorkersKeepTheLimits) {
  Admission a;
  constexpr std::size_t kPerSource = 5;
  std::vector<std::thread> threads;
  std::atomic<bool> over{false};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (a.admit("10.0.0.1", 1000, kPerSource) != Admission::Verdict::Admitted) continue;
        if (a.total() > kPerSource) over = true;
        a.release("10.0.0.1");
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_FALSE(over);
  EXPECT_EQ(a.total(), 0u);
}
