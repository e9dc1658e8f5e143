// Anti-spoofing on a container's host end (CNI mode), through the loaded
// programs on the lab's lan0 standing in for one: packets from the
// container's own MAC and addresses are the rules' to decide, any other
// source is dropped and counted as spoofed, and XDP leaves all of the
// container's packets to tc, so none skips the check by the fast path.
#include <linux/bpf.h>

#include <cstring>

#include "datapath/router_fixture.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK, kShot = TC_ACT_SHOT;
constexpr std::uint32_t kRedirect = XDP_REDIRECT, kPass = XDP_PASS;

Frame udp(const char* src, std::uint16_t sport, const char* dst, const Mac& from) {
  auto b = std::strchr(src, ':') ? PacketBuilder::ipv6(src, dst) : PacketBuilder::ipv4(src, dst);
  return with_macs(b.udp(sport, 53).build(), LabNetns::kLanMac, from);
}

// An ARP packet from sender_mac claiming sender_ip (op 1 request, 2 reply).
Frame arp(const Mac& eth_src, const Mac& sender_mac, const char* sender_ip, std::uint16_t op = 2) {
  Frame f(14 + 28, 0);
  for (int i = 0; i < 6; ++i) {
    f[i] = LabNetns::kLanMac[i];
    f[6 + i] = eth_src[i];
  }
  f[12] = 0x08, f[13] = 0x06;
  std::uint8_t* a = f.data() + 14;
  a[1] = 1, a[2] = 0x08, a[3] = 0x00, a[4] = 6, a[5] = 4, a[7] = static_cast<std::uint8_t>(op);
  for (int i = 0; i < 6; ++i) a[8 + i] = sender_mac[i];
  auto ip = config::parse_prefix(sender_ip).prefix->addr;
  for (int i = 0; i < 4; ++i) a[14 + i] = ip[i];
  return f;
}

// A neighbour solicitation (135) or advertisement (136) about target.
Frame neighbour(std::uint8_t type, const char* src, const char* target, const Mac& from) {
  auto t = config::parse_prefix(target).prefix->addr;
  auto f = PacketBuilder::ipv6(src, "ff02::1")
               .icmp(type, 0, type == 136 ? 0x20000000u : 0)
               .payload(std::vector<std::uint8_t>(t.begin(), t.end()))
               .build();
  return with_macs(f, LabNetns::kLanMac, from);
}

class Endpoints : public RouterTest {
 protected:
  std::uint64_t spoofed() { return dp.drop_counter(SLUICE_DROP_SPOOFED).packets; }
  std::uint32_t lan0() { return lab_->ifindex("lan0"); }

  // The lan host .10 as a container wired to lan0.
  void wire_host10() {
    sluice_endpoint e{};
    std::memcpy(e.mac, LabNetns::kHost10Mac.data(), 6);
    e.families = SLUICE_ENDPOINT_IPV4 | SLUICE_ENDPOINT_IPV6;
    std::memcpy(e.addr4, config::parse_prefix("10.10.1.10").prefix->addr.data(), 4);
    std::memcpy(e.addr6, config::parse_prefix("fd00:10:1::10").prefix->addr.data(), 16);
    dp.set_endpoint(lan0(), e);
  }
};

TEST_F(Endpoints, AContainersOwnPacketsAreTheRulesAndAnyOtherSourceIsSpoofed) {
  const auto& own = LabNetns::kHost10Mac;
  run({{"before it is wired, XDP decides and forwards a new flow",
        Hook::Xdp,
        "lan0",
        udp("10.10.1.10", 30000, "203.0.113.5", own),
        kRedirect,
        {},
        [](const Frame&) {}}});  // masqueraded: fastpath_test.cpp checks how
  wire_host10();
  auto before = spoofed();
  run({
      {"its own address and MAC: lan-out accepts", Hook::TcIngress, "lan0",
       udp("10.10.1.10", 30001, "203.0.113.5", own), kOk},
      {"another address of the lan", Hook::TcIngress, "lan0",
       udp("10.10.1.11", 30002, "203.0.113.5", own), kShot},
      {"its address from another MAC", Hook::TcIngress, "lan0",
       udp("10.10.1.10", 30003, "203.0.113.5", LabNetns::kHost11Mac), kShot},
      {"IPv6: its own address", Hook::TcIngress, "lan0",
       udp("fd00:10:1::10", 30004, "2001:db8:2::2", own), kOk},
      {"IPv6: another address", Hook::TcIngress, "lan0",
       udp("fd00:10:1::99", 30005, "2001:db8:2::2", own), kShot},
      {"IPv6 link-local: the link's business (input accepts)", Hook::TcIngress, "lan0",
       udp("fe80::10", 30006, "fd00:10:1::1", own), kOk},
      {"XDP leaves even a flow it would forward to tc", Hook::Xdp, "lan0",
       udp("10.10.1.10", 30007, "203.0.113.5", own), kPass},
  });
  EXPECT_EQ(spoofed(), before + 3);
  dp.remove_endpoint(lan0());
  run({{"unwired, another address is the rules' again", Hook::TcIngress, "lan0",
        udp("10.10.1.11", 30008, "203.0.113.5", own), kOk}});
  EXPECT_EQ(spoofed(), before + 3);
}

// ARP and neighbour discovery are the container's only about its own
// addresses: a reply claiming another address (the gateway's, another
// container's) would poison neighbour tables on the link.
TEST_F(Endpoints, ArpAndNeighbourDiscoveryMayClaimOnlyTheContainersOwnAddresses) {
  const auto& own = LabNetns::kHost10Mac;
  const auto& other = LabNetns::kHost11Mac;
  wire_host10();
  auto before = spoofed();
  run({
      {"ARP reply: its own MAC and address", Hook::TcIngress, "lan0", arp(own, own, "10.10.1.10"),
       kOk},
      {"ARP probe: its own MAC, 0.0.0.0", Hook::TcIngress, "lan0", arp(own, own, "0.0.0.0", 1),
       kOk},
      {"ARP reply claiming the gateway's address", Hook::TcIngress, "lan0",
       arp(own, own, "10.10.1.1"), kShot},
      {"ARP reply with another sender MAC", Hook::TcIngress, "lan0", arp(own, other, "10.10.1.10"),
       kShot},
      {"ARP from another Ethernet source", Hook::TcIngress, "lan0", arp(other, other, "10.10.1.10"),
       kShot},
      {"NA about its own address", Hook::TcIngress, "lan0",
       neighbour(136, "fe80::10", "fd00:10:1::10", own), kOk},
      {"NA about its link-local address", Hook::TcIngress, "lan0",
       neighbour(136, "fe80::10", "fe80::10", own), kOk},
      {"NA about the gateway's address", Hook::TcIngress, "lan0",
       neighbour(136, "fe80::10", "fd00:10:1::1", own), kShot},
      {"NS for duplicate address detection, from ::", Hook::TcIngress, "lan0",
       neighbour(135, "::", "fd00:10:1::10", own), kOk},
      {"NS from :: with another MAC", Hook::TcIngress, "lan0",
       neighbour(135, "::", "fd00:10:1::10", other), kShot},
      {"NS from another global address", Hook::TcIngress, "lan0",
       neighbour(135, "fd00:10:1::99", "fd00:10:1::1", own), kShot},
  });
  EXPECT_EQ(spoofed(), before + 6);
  dp.remove_endpoint(lan0());
  run({{"unwired, ARP is not sluice's to judge", Hook::TcIngress, "lan0",
        arp(other, other, "10.10.1.1"), kOk},
       {"nor neighbour discovery", Hook::TcIngress, "lan0",
        neighbour(136, "fe80::10", "fd00:10:1::1", own), kOk}});
}

}  // namespace
}  // namespace sluice::testkit
