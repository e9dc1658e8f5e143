// The conntrack sweep walks the real tables (TCP, then the rest) a chunk
// at a time: every expired entry is removed and handed back once, every
// live one stays, however the tables split into chunks.
#include "service/conntrack_sweep.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <time.h>

#include <cstring>
#include <set>

#include "datapath/fixture.h"

namespace sluice::testkit {
namespace {

std::uint64_t monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1000000000ull + t.tv_nsec;
}

class ConntrackSweepWalk : public DatapathTest {
 protected:
  // A flow 10.0.x.y:port -> 192.0.2.2:53, last seen `idle_s` ago: UDP,
  // or for odd n TCP (closed by a RST, so that it times out as soon).
  void add_flow(std::uint32_t n, std::uint64_t idle_s, std::uint64_t now) {
    sluice_ct_key key{};
    key.family = SLUICE_FAMILY_IPV4;
    key.proto = n % 2 ? IPPROTO_TCP : IPPROTO_UDP;
    std::uint32_t a = htonl(0x0a000000u | n), b = htonl(0xc0000202u);
    std::memcpy(key.addr_a, &a, 4);
    std::memcpy(key.addr_b, &b, 4);
    key.port_a = htons(static_cast<std::uint16_t>(1024 + n % 60000));
    key.port_b = htons(53);
    sluice_ct_entry entry{};
    entry.state = n % 2 ? SLUICE_CT_CLOSED : SLUICE_CT_NEW;
    entry.originator_is_a = 1;
    entry.created_ns = entry.last_seen_ns = now - idle_s * 1000000000ull;
    ASSERT_EQ(bpf_map_update_elem(dp.conntrack_tables().for_key(key), &key, &entry, BPF_NOEXIST),
              0);
  }
};

TEST_F(ConntrackSweepWalk, RemovesEveryExpiredEntryOnceAndKeepsTheLiveOnesChunkByChunk) {
  constexpr std::uint32_t kFlows = 10000;  // about two and a half chunks
  std::uint64_t now = monotonic_ns();
  std::set<std::uint32_t> expired;
  for (std::uint32_t n = 1; n <= kFlows; ++n) {
    bool old = n % 3 == 0;
    // UDP NEW times out after SLUICE_CT_TIMEOUT_UDP_NEW (30 s), a closed
    // TCP flow after SLUICE_CT_TIMEOUT_TCP_CLOSED (10 s).
    add_flow(n, old ? 60 : 1, now);
    if (old) expired.insert(n);
  }
  service::ConntrackSweep sweep;
  std::set<std::uint32_t> removed;
  int steps = 0;
  service::ConntrackSweep::Step step;
  do {
    step = sweep.step(dp, monotonic_ns());
    ++steps;
    for (const auto& [key, entry] : step.removed) {
      std::uint32_t a;
      std::memcpy(&a, key.addr_a, 4);
      EXPECT_TRUE(removed.insert(ntohl(a) & 0xffffff).second) << "handed back twice";
    }
  } while (!step.walk_done && steps < 100);
  ASSERT_TRUE(step.walk_done);
  EXPECT_GE(steps, 3) << "the walk came in chunks";
  EXPECT_EQ(removed, expired);
  EXPECT_EQ(dp.conntrack().size(), kFlows - expired.size());
  EXPECT_EQ(dp.count_conntrack(SLUICE_CT_TABLE_TCP).flows +
                dp.count_conntrack(SLUICE_CT_TABLE_OTHER).flows,
            kFlows - expired.size());
  EXPECT_GT(dp.count_conntrack(SLUICE_CT_TABLE_TCP).flows, 0u)
      << "TCP flows live in their own table";
  EXPECT_EQ(sweep.last_walk().seen, kFlows);
  EXPECT_EQ(sweep.last_walk().removed, expired.size());
  EXPECT_FALSE(sweep.walking());

  // The next walk starts over from the first chunk and finds nothing more.
  do {
    step = sweep.step(dp, monotonic_ns());
    EXPECT_TRUE(step.removed.empty());
  } while (!step.walk_done);
  EXPECT_EQ(sweep.last_walk().seen, kFlows - expired.size());
}

}  // namespace
}  // namespace sluice::testkit
