// Upgrading from a version that kept translations in a NAT table of its
// own: a masqueraded flow's translation is carried into the conntrack
// table from the old pinned table, and its replies are translated as
// before; translations of flows already gone are not carried; the old
// pin is removed.
#include "datapath/legacy_nat_pins.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "datapath/conntrack_translation.h"
#include "datapath/router_fixture.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK;

// The old table's layout, as the previous version pinned it.
struct OldKey {
  std::uint8_t src[16], dst[16];
  std::uint16_t sport, dport;
  std::uint8_t proto, family, pad[2];
};
struct OldEntry {
  sluice_ct_key flow;
  std::uint8_t addr[16];
  std::uint16_t port;
  std::uint8_t pad[2];
};

// An old NAT table pinned on bpffs, unpinned again however the test ends.
struct OldPinnedTable {
  std::string dir = "/sys/fs/bpf/sluice-legacy-nat-test-" + std::to_string(getpid());
  std::string path = dir + "/nat";
  int fd = -1;
  OldPinnedTable() {
    std::filesystem::create_directories(dir);
    fd =
        bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "nat", sizeof(OldKey), sizeof(OldEntry), 64, nullptr);
  }
  ~OldPinnedTable() {
    if (fd >= 0) close(fd);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

std::array<std::uint8_t, 16> v4(const char* text) {
  std::array<std::uint8_t, 16> a{};
  inet_pton(AF_INET, text, a.data());
  return a;
}

class LegacyNatPins : public RouterTest {};

TEST_F(LegacyNatPins, ALiveFlowsTranslationIsCarriedIntoTheConntrackTable) {
  auto syn = bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn);
  run({
      {"the flow opens", Hook::TcIngress, "lan0", syn, kOk},
      {"and leaves masqueraded", Hook::TcEgress, "wan0", syn, kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
  });
  // As the previous version left it: the flow in the conntrack table, its
  // translation in the NAT table.
  auto inside = v4("10.10.1.10"), server = v4("192.0.2.2"), public_addr = v4("192.0.2.1");
  auto translation = datapath::conntrack_key(SLUICE_FAMILY_IPV4, IPPROTO_TCP, server.data(),
                                             htons(9000), public_addr.data(), htons(20000));
  ASSERT_EQ(bpf_map_delete_elem(dp.conntrack_tables().for_key(translation), &translation), 0);

  OldPinnedTable old;
  ASSERT_GE(old.fd, 0);
  OldKey live{};
  std::memcpy(live.src, server.data(), 16);
  std::memcpy(live.dst, public_addr.data(), 16);
  live.sport = htons(9000);
  live.dport = htons(20000);
  live.proto = IPPROTO_TCP;
  live.family = SLUICE_FAMILY_IPV4;
  OldEntry to_inside{};
  to_inside.flow = datapath::conntrack_key(SLUICE_FAMILY_IPV4, IPPROTO_TCP, inside.data(),
                                           htons(20000), server.data(), htons(9000));
  std::memcpy(to_inside.addr, inside.data(), 16);
  to_inside.port = htons(20000);
  ASSERT_EQ(bpf_map_update_elem(old.fd, &live, &to_inside, BPF_ANY), 0);
  // One whose flow is gone (another port, another inside host).
  OldKey stale = live;
  stale.dport = htons(20001);
  OldEntry gone = to_inside;
  gone.flow.port_a = htons(20001);
  ASSERT_EQ(bpf_map_update_elem(old.fd, &stale, &gone, BPF_ANY), 0);
  ASSERT_EQ(bpf_obj_pin(old.fd, old.path.c_str()), 0);

  EXPECT_EQ(datapath::carry_legacy_nat_table(old.path, dp.conntrack_tables()), 1u);
  EXPECT_FALSE(std::filesystem::exists(old.path)) << "the old table is unpinned";
  run({
      {"the reply finds its way back to the inside host", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kSyn | kAck)},
  });
  EXPECT_EQ(dp.conntrack().size(), 1u) << "the flow, and no flow made of the stale one";
}

TEST_F(LegacyNatPins, NoOldTableNothingCarried) {
  EXPECT_EQ(
      datapath::carry_legacy_nat_table("/sys/fs/bpf/sluice-no-such-pin", dp.conntrack_tables()),
      0u);
}

}  // namespace
}  // namespace sluice::testkit
