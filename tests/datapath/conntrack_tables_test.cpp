// TCP flows have a conntrack table of their own: a flood of UDP flows
// that overfills its table evicts only its own kind, and a TCP connection
// opened before it carries on. Taking over the pins of a version with one
// table for every protocol moves the others into their table, and again
// what that version's programs made there until ours replaced them.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "datapath/conntrack_translation.h"
#include "datapath/router_fixture.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK;

// A UDP flow n of the flood, as tc would have made it: 10.20.x.y:port ->
// 192.0.2.2:53, seen just now.
void udp_flow(std::uint32_t n, sluice_ct_key& key, sluice_ct_entry& entry) {
  key = {};
  key.family = SLUICE_FAMILY_IPV4;
  key.proto = IPPROTO_UDP;
  std::uint32_t a = htonl(0x0a140000u | (n & 0xffff)), b = htonl(0xc0000202u);
  std::memcpy(key.addr_a, &a, 4);
  std::memcpy(key.addr_b, &b, 4);
  key.port_a = htons(static_cast<std::uint16_t>(1024 + (n >> 16)));
  key.port_b = htons(53);
  entry = {};
  entry.state = SLUICE_CT_NEW;
  entry.originator_is_a = 1;
  entry.chain = SLUICE_CHAIN_FORWARD;
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  entry.created_ns = entry.last_seen_ns =
      static_cast<std::uint64_t>(t.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(t.tv_nsec);
}

class ConntrackTables : public RouterTest {};

TEST_F(ConntrackTables, AFloodOfUdpFlowsEvictsItsOwnKindAndLeavesTcpConnectionsTracked) {
  run({
      {"a TCP connection opens", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn), kOk},
      {"and leaves masqueraded", Hook::TcEgress, "wan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn), kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
  });
  auto tcp_before = dp.count_conntrack(SLUICE_CT_TABLE_TCP);
  ASSERT_EQ(tcp_before.flows, 1u);
  ASSERT_EQ(tcp_before.translations, 1u);

  // Twice as many UDP flows as their table holds: with one table for
  // both, as many new entries as that would have evicted the connection.
  std::size_t capacity = dp.conntrack_capacity(SLUICE_CT_TABLE_OTHER);
  constexpr std::size_t kBatch = 8192;
  std::vector<sluice_ct_key> keys(kBatch);
  std::vector<sluice_ct_entry> entries(kBatch);
  int other = dp.conntrack_tables().other;
  for (std::size_t n = 0; n < 2 * capacity; n += kBatch) {
    for (std::size_t i = 0; i < kBatch; ++i)
      udp_flow(static_cast<std::uint32_t>(n + i), keys[i], entries[i]);
    auto count = static_cast<std::uint32_t>(kBatch);
    ASSERT_EQ(bpf_map_update_batch(other, keys.data(), entries.data(), &count, nullptr), 0)
        << std::strerror(errno);
  }
  auto udp = dp.count_conntrack(SLUICE_CT_TABLE_OTHER);
  EXPECT_GE(udp.flows * 10, capacity * 9) << "the UDP table filled up";
  EXPECT_LE(udp.flows, capacity);
  auto tcp_after = dp.count_conntrack(SLUICE_CT_TABLE_TCP);
  EXPECT_EQ(tcp_after.flows, 1u) << "the TCP connection is still tracked";
  EXPECT_EQ(tcp_after.translations, 1u) << "and keeps its masquerade port";

  run({
      {"its reply still finds the inside host", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kSyn | kAck)},
  });
}

// Pins of a version with one table for every protocol, made from this
// version's by unpinning the other table; removed however the test ends.
struct PinDir {
  std::string path = "/sys/fs/bpf/sluice-ct-split-test-" + std::to_string(getpid());
  ~PinDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

TEST(ConntrackTablesUpgrade, TakingOverOneTableForEveryProtocolMovesTheOthersIntoTheirTable) {
  PinDir pins;
  sluice_ct_key udp_key{}, tcp_key{};
  sluice_ct_entry udp_entry{}, tcp_entry{};
  udp_flow(7, udp_key, udp_entry);
  tcp_key = udp_key;
  tcp_key.proto = IPPROTO_TCP;
  tcp_entry = udp_entry;
  tcp_entry.state = SLUICE_CT_ESTABLISHED;
  {
    datapath::Datapath previous({.pin_dir = pins.path, .conntrack_entries = 4096});
    auto t = previous.conntrack_tables();
    // As the previous version left its one table: both kinds in it.
    ASSERT_EQ(bpf_map_update_elem(t.tcp, &udp_key, &udp_entry, BPF_NOEXIST), 0);
    ASSERT_EQ(bpf_map_update_elem(t.tcp, &tcp_key, &tcp_entry, BPF_NOEXIST), 0);
    ASSERT_EQ(unlink((pins.path + "/conntrack_other").c_str()), 0);
  }  // leaves its pins, as a stop for an upgrade does

  datapath::Datapath next({.pin_dir = pins.path, .conntrack_entries = 4096});
  ASSERT_TRUE(next.adopted());
  auto t = next.conntrack_tables();
  sluice_ct_entry found{};
  EXPECT_EQ(bpf_map_lookup_elem(t.other, &udp_key, &found), 0) << "the UDP flow moved";
  EXPECT_EQ(found.created_ns, udp_entry.created_ns);
  EXPECT_NE(bpf_map_lookup_elem(t.tcp, &udp_key, &found), 0) << "and left the TCP table";
  EXPECT_EQ(bpf_map_lookup_elem(t.tcp, &tcp_key, &found), 0) << "the TCP flow stayed";
  EXPECT_NE(next.upgrade_note().find("moved 1 entry of"), std::string::npos) << next.upgrade_note();
  EXPECT_TRUE(std::filesystem::exists(pins.path + "/conntrack_other")) << "the new table is pinned";

  // The previous version's programs, still attached until the new ones
  // replace them, make another UDP flow in the one table they know.
  sluice_ct_key late_key{};
  sluice_ct_entry late_entry{};
  udp_flow(8, late_key, late_entry);
  ASSERT_EQ(bpf_map_update_elem(t.tcp, &late_key, &late_entry, BPF_NOEXIST), 0);
  EXPECT_EQ(next.finish_takeover(), 1u) << "once ours are attached, it is moved too";
  EXPECT_EQ(bpf_map_lookup_elem(t.other, &late_key, &found), 0);
  EXPECT_NE(bpf_map_lookup_elem(t.tcp, &late_key, &found), 0);
  EXPECT_EQ(next.finish_takeover(), 0u) << "only once";
  next.unpin();
}

}  // namespace
}  // namespace sluice::testkit
