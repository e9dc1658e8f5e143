// The XDP fast path by packet tables: established and new flows forwarded
// with their translation, TTL and MACs (frames checked byte for byte,
// checksums included), and each case it leaves to the kernel untouched
// and counted: TTL 1, too big for the way out, no route, no neighbour, a
// packet of no tracked flow.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "datapath/router_fixture.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK;
constexpr std::uint32_t kRedirect = XDP_REDIRECT, kPass = XDP_PASS;
const std::vector<std::uint8_t> kData = {'d', 'a', 't', 'a'};

Frame tcp4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
           std::uint8_t flags, std::uint8_t ttl = 64) {
  return PacketBuilder::ipv4(src, dst).ttl(ttl).tcp(sport, dport, flags).payload(kData).build();
}
Frame udp4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
           std::uint8_t ttl = 64, std::size_t size = 4) {
  return PacketBuilder::ipv4(src, dst).ttl(ttl).udp(sport, dport).payload(Frame(size, 'u')).build();
}
Frame to_wan(Frame f) { return with_macs(std::move(f), LabNetns::kServerMac, LabNetns::kWanMac); }
Frame to_host10(Frame f) {
  return with_macs(std::move(f), LabNetns::kHost10Mac, LabNetns::kLanMac);
}

class FastPath : public RouterTest {
 protected:
  // A masqueraded TCP flow 10.10.1.10:20000 -> 192.0.2.2:9000 (port kept),
  // through its handshake by tc as the kernel would hand it over.
  void establish() {
    run({
        {"SYN in", Hook::TcIngress, "lan0", tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn),
         kOk},
        {"SYN out", Hook::TcEgress, "wan0", tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn), kOk,
         tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
        {"SYN-ACK in", Hook::TcIngress, "wan0",
         tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck), kOk,
         tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kSyn | kAck)},
        {"ACK in", Hook::TcIngress, "lan0", tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck),
         kOk},
    });
  }
  std::uint64_t kernel(sluice_fastpath_counter why) { return dp.fastpath_counter(why).packets; }
};

TEST_F(FastPath, AnEstablishedFlowIsForwardedTranslatedBothWays) {
  establish();
  auto forwarded = kernel(SLUICE_FAST_FORWARDED);
  run({
      {"data out: masqueraded, TTL 63, MACs of the wan way", Hook::Xdp, "lan0",
       tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck | kPsh), kRedirect,
       to_wan(tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kAck | kPsh, 63))},
      {"data back: the lan host's address again, TTL 63, MACs of the lan way", Hook::Xdp, "wan0",
       tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kAck | kPsh), kRedirect,
       to_host10(tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kAck | kPsh, 63))},
      {"a FIN too, the flow's state moved here", Hook::Xdp, "lan0",
       tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck | kFin), kRedirect,
       to_wan(tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kAck | kFin, 63))},
  });
  EXPECT_EQ(kernel(SLUICE_FAST_FORWARDED), forwarded + 3);
  auto flows = dp.conntrack();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].value.packets[SLUICE_DIR_ORIGINAL], 4u)
      << "SYN, ACK, the data and the FIN counted";
  EXPECT_EQ(flows[0].value.packets[SLUICE_DIR_REPLY], 2u);
  EXPECT_EQ(flows[0].value.state, SLUICE_CT_FIN_WAIT);
}

// A connection whose SYN XDP decided stays in XDP to its last ACK, its
// state moving as tc would move it; only a SYN of the same tuple while
// it closes (a client reusing its port, which tc ends and starts afresh)
// goes to the kernel.
TEST_F(FastPath, AWholeConnectionStaysInXdpItsStateMovingAsInTc) {
  auto state = [&] {
    auto flows = dp.conntrack();
    return flows.size() == 1 ? flows[0].value.state : -1;
  };
  auto other = kernel(SLUICE_FAST_KERNEL_OTHER);
  run({
      {"SYN: a new flow, masqueraded", Hook::Xdp, "lan0",
       tcp4("10.10.1.10", 20010, "192.0.2.2", 9000, kSyn), kRedirect,
       to_wan(tcp4("192.0.2.1", 20010, "192.0.2.2", 9000, kSyn, 63))},
  });
  EXPECT_EQ(state(), SLUICE_CT_SYN_SENT);
  run({
      {"SYN-ACK back to the lan host", Hook::Xdp, "wan0",
       tcp4("192.0.2.2", 9000, "192.0.2.1", 20010, kSyn | kAck), kRedirect,
       to_host10(tcp4("192.0.2.2", 9000, "10.10.1.10", 20010, kSyn | kAck, 63))},
  });
  EXPECT_EQ(state(), SLUICE_CT_SYN_RECV);
  run({
      {"the handshake's ACK", Hook::Xdp, "lan0", tcp4("10.10.1.10", 20010, "192.0.2.2", 9000, kAck),
       kRedirect, to_wan(tcp4("192.0.2.1", 20010, "192.0.2.2", 9000, kAck, 63))},
  });
  EXPECT_EQ(state(), SLUICE_CT_ESTABLISHED);
  run({
      {"the client's FIN", Hook::Xdp, "lan0",
       tcp4("10.10.1.10", 20010, "192.0.2.2", 9000, kAck | kFin), kRedirect,
       to_wan(tcp4("192.0.2.1", 20010, "192.0.2.2", 9000, kAck | kFin, 63))},
      {"the server's FIN", Hook::Xdp, "wan0",
       tcp4("192.0.2.2", 9000, "192.0.2.1", 20010, kAck | kFin), kRedirect,
       to_host10(tcp4("192.0.2.2", 9000, "10.10.1.10", 20010, kAck | kFin, 63))},
  });
  EXPECT_EQ(state(), SLUICE_CT_CLOSING);
  run({
      {"the last ACK", Hook::Xdp, "lan0", tcp4("10.10.1.10", 20010, "192.0.2.2", 9000, kAck),
       kRedirect, to_wan(tcp4("192.0.2.1", 20010, "192.0.2.2", 9000, kAck, 63))},
      {"a SYN of the same tuple: tc's, to end the old flow and judge the new", Hook::Xdp, "lan0",
       tcp4("10.10.1.10", 20010, "192.0.2.2", 9000, kSyn), kPass},
  });
  EXPECT_EQ(kernel(SLUICE_FAST_KERNEL_OTHER), other + 1);
  EXPECT_EQ(state(), SLUICE_CT_CLOSING) << "left as it was for tc";
}

// A RST closes the flow in XDP; what comes after it is tc's.
TEST_F(FastPath, AfterARstTheFlowIsTcs) {
  establish();
  run({
      {"RST out", Hook::Xdp, "lan0", tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kRst | kAck),
       kRedirect, to_wan(tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kRst | kAck, 63))},
      {"a late ACK: the kernel's", Hook::Xdp, "wan0",
       tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kAck), kPass},
  });
  auto flows = dp.conntrack();
  ASSERT_EQ(flows.size(), 1u);
  EXPECT_EQ(flows[0].value.state, SLUICE_CT_CLOSED);
}

// Packets of known flows stamp last_seen with the coarse clock (the last
// tick's time), which can be behind a precise time another CPU stamped:
// last_seen only moves forward, so such a packet never takes it back.
TEST_F(FastPath, APacketMovesLastSeenForwardNeverBack) {
  establish();
  auto stamp = [&](std::int64_t shift_ns) {
    auto flows = dp.conntrack();
    EXPECT_EQ(flows.size(), 1u);
    auto entry = flows[0].value;
    entry.last_seen_ns += shift_ns;
    EXPECT_EQ(bpf_map_update_elem(dp.conntrack_tables().for_key(flows[0].key), &flows[0].key,
                                  &entry, BPF_EXIST),
              0);
    return entry.last_seen_ns;
  };
  auto data_out = [&] {
    run({{"data out", Hook::Xdp, "lan0", tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck | kPsh),
          kRedirect, to_wan(tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kAck | kPsh, 63))}});
    return dp.conntrack()[0].value;
  };
  auto ahead = stamp(30'000'000'000);  // "later" than any clock read below
  auto after = data_out();
  EXPECT_EQ(after.last_seen_ns, ahead) << "not taken back";
  EXPECT_EQ(after.packets[SLUICE_DIR_ORIGINAL], 3u) << "the packet counted all the same";
  auto behind = stamp(-60'000'000'000);  // 30 s before the packets so far
  EXPECT_GT(data_out().last_seen_ns, behind) << "moved forward";
}

TEST_F(FastPath, ANewFlowIsDecidedTrackedAndMasqueradedInXdp) {
  auto fresh = kernel(SLUICE_FAST_NEW_FLOW);
  run({
      {"a first UDP datagram: accepted by lan-out, masqueraded, to the gateway's MAC", Hook::Xdp,
       "lan0", udp4("10.10.1.10", 20001, "203.0.113.5", 53), kRedirect,
       to_wan(udp4("192.0.2.1", 20001, "203.0.113.5", 53, 63))},
      {"its answer comes back by the fast path too", Hook::Xdp, "wan0",
       udp4("203.0.113.5", 53, "192.0.2.1", 20001), kRedirect,
       to_host10(udp4("203.0.113.5", 53, "10.10.1.10", 20001, 63))},
      {"IPv6 is routed as it is, hop limit 63", Hook::Xdp, "lan0",
       PacketBuilder::ipv6("fd00:10:1::10", "2001:db8:2::2").udp(20002, 53).build(), kRedirect,
       to_wan(
           PacketBuilder::ipv6("fd00:10:1::10", "2001:db8:2::2").ttl(63).udp(20002, 53).build())},
  });
  EXPECT_EQ(kernel(SLUICE_FAST_NEW_FLOW), fresh + 2);
  EXPECT_EQ(dp.conntrack().size(), 2u);
}

// A source port outside the masquerade range gets another one: the reply
// must get the original back (address and port), checksum and all.
TEST_F(FastPath, ARepliesPortIsTranslatedBackWhenMasqueradeChangedIt) {
  std::uint16_t port = 0;
  run({
      {"out from port 40000 (beyond the range): another port",
       Hook::Xdp,
       "lan0",
       udp4("10.10.1.10", 40000, "192.0.2.2", 53),
       kRedirect,
       {},
       [&](const Frame& f) {
         port = static_cast<std::uint16_t>(f[34] << 8 | f[35]);
         EXPECT_GE(port, SLUICE_NAT_PORT_MIN);
         EXPECT_LE(port, SLUICE_NAT_PORT_MAX);
         EXPECT_EQ(f, to_wan(udp4("192.0.2.1", port, "192.0.2.2", 53, 63)));
       }},
  });
  ASSERT_NE(port, 0);
  run({
      {"the reply to that port reaches port 40000", Hook::Xdp, "wan0",
       udp4("192.0.2.2", 53, "192.0.2.1", port), kRedirect,
       to_host10(udp4("192.0.2.2", 53, "10.10.1.10", 40000, 63))},
  });
}

TEST_F(FastPath, WhatItCannotForwardGoesToTheKernelUntouchedAndCounted) {
  establish();
  auto ttl = kernel(SLUICE_FAST_KERNEL_TTL), mtu = kernel(SLUICE_FAST_KERNEL_MTU),
       route = kernel(SLUICE_FAST_KERNEL_ROUTE), neigh = kernel(SLUICE_FAST_KERNEL_NO_NEIGHBOUR);
  run({
      {"TTL 1: the kernel answers time exceeded", Hook::Xdp, "lan0",
       tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck | kPsh, 1), kPass},
      {"too big for the 1280-byte route: the kernel answers frag needed", Hook::Xdp, "lan0",
       udp4("10.10.1.10", 20003, "203.0.113.5", 53, 64, 1300), kPass},
      {"no route at all", Hook::Xdp, "lan0", udp4("10.10.1.10", 20004, "198.51.100.7", 53), kPass},
      {"an on-link address without a neighbour entry: the kernel resolves it", Hook::Xdp, "lan0",
       udp4("10.10.1.10", 20005, "192.0.2.3", 53), kPass},
      {"a TCP packet of no tracked flow (not a SYN): the kernel's, and tc's", Hook::Xdp, "lan0",
       tcp4("10.10.1.10", 20006, "192.0.2.2", 9000, kAck), kPass},
  });
  EXPECT_EQ(kernel(SLUICE_FAST_KERNEL_TTL), ttl + 1);
  EXPECT_EQ(kernel(SLUICE_FAST_KERNEL_MTU), mtu + 1);
  EXPECT_EQ(kernel(SLUICE_FAST_KERNEL_ROUTE), route + 1);
  EXPECT_EQ(kernel(SLUICE_FAST_KERNEL_NO_NEIGHBOUR), neigh + 1);
  EXPECT_EQ(dp.conntrack().size(), 1u) << "nothing the kernel got was tracked in XDP";
}

}  // namespace
}  // namespace sluice::testkit
