// NAT by packet tables: masquerade (first packet, replies, a port taken by
// another flow, no port left), port forwards, hairpin and ICMP errors that
// quote a translated packet, each frame checked byte for byte as the tc
// programs leave it (checksums included).
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <set>

#include "datapath/conntrack_translation.h"
#include "datapath/router_fixture.h"
#include "service/conntrack_sweep.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK, kShot = TC_ACT_SHOT;

Frame udp4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport) {
  return PacketBuilder::ipv4(src, dst).udp(sport, dport).payload({'h', 'i'}).build();
}

// Fields of an IPv4 frame without VLAN tags.
std::uint16_t sport_of(const Frame& f) { return static_cast<std::uint16_t>(f[34] << 8 | f[35]); }
std::string src_of(const Frame& f) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &f[26], buf, sizeof(buf));
  return buf;
}

class Nat : public RouterTest {};

TEST_F(Nat, MasqueradeTranslatesTheFirstPacketAndEveryReply) {
  auto before = dp.nat_counter(SLUICE_NAT_NEW_MASQUERADE).packets;
  run({
      {"a lan host's SYN comes in: judged, untouched", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn), kOk},
      {"it leaves with the wan address, its own port kept (free and in range)", Hook::TcEgress,
       "wan0", bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn), kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
      {"the SYN-ACK comes back to the lan host", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kSyn | kAck)},
      {"and leaves towards it as it is", Hook::TcEgress, "lan0",
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kSyn | kAck), kOk},
      {"the ACK is tracked", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck), kOk},
      {"and translated like the SYN", Hook::TcEgress, "wan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck), kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kAck)},
      {"UDP: the first datagram", Hook::TcIngress, "lan0",
       udp4("10.10.1.10", 20001, "192.0.2.2", 53), kOk},
      {"leaves masqueraded", Hook::TcEgress, "wan0", udp4("10.10.1.10", 20001, "192.0.2.2", 53),
       kOk, udp4("192.0.2.1", 20001, "192.0.2.2", 53)},
      {"the answer comes back to the lan host", Hook::TcIngress, "wan0",
       udp4("192.0.2.2", 53, "192.0.2.1", 20001), kOk, udp4("192.0.2.2", 53, "10.10.1.10", 20001)},
      {"ping: the echo request", Hook::TcIngress, "lan0",
       PacketBuilder::ipv4("10.10.1.10", "192.0.2.2").icmp(8, 0, 20002u << 16 | 1).build(), kOk},
      {"leaves with the wan address, its identifier kept", Hook::TcEgress, "wan0",
       PacketBuilder::ipv4("10.10.1.10", "192.0.2.2").icmp(8, 0, 20002u << 16 | 1).build(), kOk,
       PacketBuilder::ipv4("192.0.2.1", "192.0.2.2").icmp(8, 0, 20002u << 16 | 1).build()},
      {"the echo reply comes back to the lan host", Hook::TcIngress, "wan0",
       PacketBuilder::ipv4("192.0.2.2", "192.0.2.1").icmp(0, 0, 20002u << 16 | 1).build(), kOk,
       PacketBuilder::ipv4("192.0.2.2", "10.10.1.10").icmp(0, 0, 20002u << 16 | 1).build()},
      {"IPv6 is routed, not masqueraded", Hook::TcEgress, "wan0",
       PacketBuilder::ipv6("fd00:10:1::10", "2001:db8:2::2").tcp(20003, 9000, kSyn).build(), kOk},
  });
  EXPECT_EQ(dp.nat_counter(SLUICE_NAT_NEW_MASQUERADE).packets, before + 3);
}

TEST_F(Nat, APortAnotherFlowHoldsIsNotGivenTwiceAndEachReplyFindsItsHost) {
  auto first = bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn);
  auto second = bare_tcp4("10.10.1.11", 20000, "192.0.2.2", 9000, kSyn);
  std::uint16_t second_port = 0;
  run({
      {"host .10 opens", Hook::TcIngress, "lan0", first, kOk},
      {"and gets port 20000", Hook::TcEgress, "wan0", first, kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
      {"host .11 opens from the same port to the same server", Hook::TcIngress, "lan0", second,
       kOk},
      {"and gets another port in the masquerade range",
       Hook::TcEgress,
       "wan0",
       second,
       kOk,
       {},
       [&](const Frame& f) {
         EXPECT_EQ(src_of(f), "192.0.2.1");
         second_port = sport_of(f);
         EXPECT_NE(second_port, 20000);
         EXPECT_GE(second_port, SLUICE_NAT_PORT_MIN);
         EXPECT_LE(second_port, SLUICE_NAT_PORT_MAX);
         EXPECT_EQ(f, bare_tcp4("192.0.2.1", second_port, "192.0.2.2", 9000, kSyn))
             << "checksums follow the port";
       }},
  });
  ASSERT_NE(second_port, 0);
  run({
      {"the reply to 20000 goes to .10", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kSyn | kAck)},
      {"the reply to the other port goes to .11, at its own port", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", second_port, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.11", 20000, kSyn | kAck)},
  });
}

// A connection of this host's own from the wan address and a port a live
// masquerade translation holds towards the same server (a resolver on the
// router picks its source ports across the whole range) has the
// translation's tuple. Tracking it would overwrite the translation and
// send the lan host's answers to this host; its packet is dropped instead
// (nat-failed), and the host's retry from another port goes out. Once the
// lan host's flow is gone, the tuple is the host's to take.
TEST_F(Nat, AConnectionOfThisHostsOwnNeverTakesTheTupleOfALiveTranslation) {
  auto failed = drops(SLUICE_DROP_NAT_FAILED);
  auto host_datagram = udp4("192.0.2.1", 20005, "192.0.2.2", 53);
  run({
      {"a lan host's query comes in", Hook::TcIngress, "lan0",
       udp4("10.10.1.10", 20005, "192.0.2.2", 53), kOk},
      {"and leaves as 192.0.2.1:20005", Hook::TcEgress, "wan0",
       udp4("10.10.1.10", 20005, "192.0.2.2", 53), kOk, udp4("192.0.2.1", 20005, "192.0.2.2", 53)},
      {"this host's own query from that address and port to that server: dropped", Hook::TcEgress,
       "wan0", host_datagram, kShot},
      {"the server's answer still goes to the lan host", Hook::TcIngress, "wan0",
       udp4("192.0.2.2", 53, "192.0.2.1", 20005), kOk, udp4("192.0.2.2", 53, "10.10.1.10", 20005)},
      {"this host's query from another port goes out", Hook::TcEgress, "wan0",
       udp4("192.0.2.1", 20006, "192.0.2.2", 53), kOk},
  });
  EXPECT_EQ(drops(SLUICE_DROP_NAT_FAILED), failed + 1) << "counted as a NAT failure";

  for (auto& e : dp.conntrack()) {  // the lan host's flow ends
    if (e.key.proto == IPPROTO_UDP && e.value.packets[SLUICE_DIR_REPLY] > 0) {
      ASSERT_EQ(bpf_map_delete_elem(dp.conntrack_tables().for_key(e.key), &e.key), 0);
    }
  }
  run({
      {"the tuple is free: this host's query goes out", Hook::TcEgress, "wan0", host_datagram, kOk},
      {"and its answer is this host's, untranslated", Hook::TcIngress, "wan0",
       udp4("192.0.2.2", 53, "192.0.2.1", 20005), kOk},
  });
  EXPECT_EQ(drops(SLUICE_DROP_NAT_FAILED), failed + 1);
}

// Makes the tracked flows in state look idle `seconds` longer than they are.
void age_flows(datapath::Datapath& dp, std::uint8_t state, std::uint64_t seconds) {
  int aged = 0;
  for (auto e : dp.conntrack()) {
    if (e.value.state != state) continue;
    e.value.last_seen_ns -= seconds * 1000000000ull;
    ASSERT_EQ(
        bpf_map_update_elem(dp.conntrack_tables().for_key(e.key), &e.key, &e.value, BPF_EXIST), 0);
    ++aged;
  }
  ASSERT_GT(aged, 0) << "no flow in state " << int(state);
}

// Short connections to one server would run the masquerade range dry if a
// closed connection held its port for the whole closing timeout. A port
// whose TCP flow ended (FIN both ways) goes to a new flow once the old one
// has been quiet for SLUICE_NAT_REUSE_ENDED_SECONDS, and not before, unless
// the later FIN was acknowledged (by the other side: an ACK from the side
// that sent it acknowledges nothing): then at once. A live flow keeps its
// port however long it idles.
TEST_F(Nat, AClosedConnectionsPortIsGivenOnOnceItWentQuietALiveOnesNever) {
  auto port_of_next_flow = [&](const char* host) {
    std::uint16_t port = 0;
    run({
        {"a lan host opens from port 20000", Hook::TcIngress, "lan0",
         bare_tcp4(host, 20000, "192.0.2.2", 9000, kSyn), kOk},
        {"and leaves masqueraded",
         Hook::TcEgress,
         "wan0",
         bare_tcp4(host, 20000, "192.0.2.2", 9000, kSyn),
         kOk,
         {},
         [&](const Frame& f) { port = sport_of(f); }},
    });
    return port;
  };
  ASSERT_EQ(port_of_next_flow("10.10.1.10"), 20000);
  run({
      {"the server answers", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kSyn | kAck)},
      {"established", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kAck), kOk},
      {"the client closes", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kFin | kAck), kOk},
      {"so does the server", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kFin | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kFin | kAck)},
      {"the server ACKs again: its own FIN is still unacknowledged", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.10", 20000, kAck)},
  });
  EXPECT_NE(port_of_next_flow("10.10.1.11"), 20000)
      << "the old flow ended just now, its last FIN not acknowledged";
  age_flows(dp, SLUICE_CT_CLOSING, SLUICE_NAT_REUSE_ENDED_SECONDS + 1);
  ASSERT_EQ(port_of_next_flow("10.10.1.12"), 20000) << "the old flow has been quiet long enough";
  run({
      {"the server's answer on 20000 goes to the new flow's host", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.12", 20000, kSyn | kAck)},
  });
  for (const auto& e : dp.conntrack())
    EXPECT_NE(e.value.state, SLUICE_CT_CLOSING) << "the old flow was ended when its port moved";

  // .12's flow is established now; idle far past the reuse delay, its port
  // stays its own.
  run({{"established", Hook::TcIngress, "lan0",
        bare_tcp4("10.10.1.12", 20000, "192.0.2.2", 9000, kAck), kOk}});
  age_flows(dp, SLUICE_CT_ESTABLISHED, 3600);
  EXPECT_NE(port_of_next_flow("10.10.1.13"), 20000);
  run({
      {"and the answer on 20000 still goes to .12", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.12", 20000, kAck)},
  });

  // .12 closes, the server first this time, and the last ACK passes:
  // nothing more is expected of the connection, the port is free at once.
  run({
      {"the server closes", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kFin | kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.12", 20000, kFin | kAck)},
      {"so does the client", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.12", 20000, "192.0.2.2", 9000, kFin | kAck), kOk},
      {"the server's last ACK", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kAck), kOk,
       bare_tcp4("192.0.2.2", 9000, "10.10.1.12", 20000, kAck)},
  });
  EXPECT_EQ(port_of_next_flow("10.10.1.14"), 20000) << "the closed connection's port is free";
}

// A client that reuses a source port after its flow was forgotten (timed
// out and swept) finds the translation the old flow left: it is this
// tuple's, so the port is kept rather than a random one taken.
TEST_F(Nat, ATupleThatComesBackKeepsItsPort) {
  auto syn = bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn);
  std::vector<Row> flow = {
      {"the flow opens", Hook::TcIngress, "lan0", syn, kOk},
      {"and leaves as port 20000", Hook::TcEgress, "wan0", syn, kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
  };
  run(flow);
  dp.clear_conntrack();
  run(flow);
}

// A masquerade translation is an entry of the conntrack table, counted
// apart from the flows and not listed as one; once its flow is gone it
// translates nothing, and the sweep removes it.
TEST_F(Nat, ATranslationLivesInTheConntrackTableAndGoesWithItsFlow) {
  auto syn = bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn);
  auto syn_ack = bare_tcp4("192.0.2.2", 9000, "192.0.2.1", 20000, kSyn | kAck);
  run({
      {"the flow opens", Hook::TcIngress, "lan0", syn, kOk},
      {"and leaves masqueraded", Hook::TcEgress, "wan0", syn, kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
  });
  auto conntrack_row = [&] {
    for (const auto& m : dp.map_usage(dp.count_conntrack_tables()))
      if (m.name == "conntrack") return m;
    ADD_FAILURE() << "no conntrack row";
    return datapath::Datapath::MapUsage{};
  };
  EXPECT_EQ(conntrack_row().entries, 2u) << "the flow and its translation";
  EXPECT_EQ(conntrack_row().translations, 1u);
  ASSERT_EQ(dp.conntrack().size(), 1u) << "flows only";

  auto sweep_all = [&](service::ConntrackSweep& sweep) {
    service::ConntrackSweep::Step step;
    do step = sweep.step(dp, 0);
    while (!step.walk_done);
    return sweep.last_walk();
  };
  service::ConntrackSweep sweep;
  EXPECT_EQ(sweep_all(sweep).removed, 0u) << "a live flow keeps its translation";

  // The flow goes (as when the LRU evicts it): the key the daemon makes
  // for it is the datapath's.
  std::uint8_t inside[16] = {10, 10, 1, 10}, server[16] = {192, 0, 2, 2};
  auto key = datapath::conntrack_key(SLUICE_FAMILY_IPV4, IPPROTO_TCP, inside, htons(20000), server,
                                     htons(9000));
  ASSERT_EQ(bpf_map_delete_elem(dp.conntrack_tables().for_key(key), &key), 0);
  EXPECT_TRUE(dp.conntrack().empty());
  run({
      {"a reply finds no flow: not translated (input accepts it as it is)", Hook::TcIngress, "wan0",
       syn_ack, kOk},
  });
  // Tracked as a flow to the host now, in the stale translation's place.
  ASSERT_EQ(dp.conntrack().size(), 1u);
  EXPECT_EQ(dp.conntrack()[0].value.chain, SLUICE_CHAIN_INPUT);
  dp.clear_conntrack();

  // The same with the sweep coming first.
  run({
      {"the flow opens again", Hook::TcIngress, "lan0", syn, kOk},
      {"and leaves masqueraded again", Hook::TcEgress, "wan0", syn, kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.2", 9000, kSyn)},
  });
  ASSERT_EQ(bpf_map_delete_elem(dp.conntrack_tables().for_key(key), &key), 0);
  EXPECT_EQ(sweep_all(sweep).removed, 1u) << "the stale translation";
  EXPECT_EQ(conntrack_row().entries, 0u);
}

// Every port of the range held by connections of the host's own towards
// the same server: a new flow cannot be translated and is dropped, counted
// under its own reason, instead of sharing a port.
TEST_F(Nat, WithNoPortLeftTheFlowIsDroppedAndCounted) {
  for (std::uint32_t port = SLUICE_NAT_PORT_MIN; port <= SLUICE_NAT_PORT_MAX; ++port)
    ASSERT_EQ(
        run_one(Hook::TcEgress, "wan0",
                bare_tcp4("192.0.2.1", static_cast<std::uint16_t>(port), "192.0.2.2", 9000, kSyn))
            .retval,
        kOk);
  auto failed = drops(SLUICE_DROP_NAT_FAILED);
  run({
      {"a lan host opens", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn), kOk},
      {"no port is free: dropped", Hook::TcEgress, "wan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.2", 9000, kSyn), kShot},
  });
  EXPECT_EQ(drops(SLUICE_DROP_NAT_FAILED), failed + 1);
  run({
      {"another server still has every port", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.3", 9000, kSyn), kOk},
      {"so this flow gets its own", Hook::TcEgress, "wan0",
       bare_tcp4("10.10.1.10", 20000, "192.0.2.3", 9000, kSyn), kOk,
       bare_tcp4("192.0.2.1", 20000, "192.0.2.3", 9000, kSyn)},
  });
}

TEST_F(Nat, APortForwardReachesTheInsideHostAndItsAnswersLeaveAsThePublicAddress) {
  auto before = dp.nat_counter(SLUICE_NAT_NEW_PORT_FORWARD).packets;
  run({
      {"a wan client connects to the public port", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 40000, "192.0.2.1", 8080, kSyn), kOk,
       bare_tcp4("192.0.2.2", 40000, "10.10.1.10", 80, kSyn)},
      {"it leaves to the inside host untouched (no masquerade: its source is kept)", Hook::TcEgress,
       "lan0", bare_tcp4("192.0.2.2", 40000, "10.10.1.10", 80, kSyn), kOk},
      {"the inside host answers", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 80, "192.0.2.2", 40000, kSyn | kAck), kOk},
      {"the answer leaves as the public address and port", Hook::TcEgress, "wan0",
       bare_tcp4("10.10.1.10", 80, "192.0.2.2", 40000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.1", 8080, "192.0.2.2", 40000, kSyn | kAck)},
      {"the client's next packet finds the same inside host", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 40000, "192.0.2.1", 8080, kAck), kOk,
       bare_tcp4("192.0.2.2", 40000, "10.10.1.10", 80, kAck)},
      {"a port nothing forwards is for the router itself", Hook::TcIngress, "wan0",
       bare_tcp4("192.0.2.2", 40001, "192.0.2.1", 8081, kSyn), kOk},
  });
  EXPECT_EQ(dp.nat_counter(SLUICE_NAT_NEW_PORT_FORWARD).packets, before + 1);
}

// A lan host using the public address of a lan server: the server must
// answer through the router, so the flow is masqueraded to the router's
// lan address as it goes back out of the interface it came in by.
TEST_F(Nat, HairpinMasqueradesTheFlowBackOutOfTheLan) {
  auto before = dp.nat_counter(SLUICE_NAT_NEW_HAIRPIN).packets;
  run({
      {"lan host .11 connects to the public port", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.11", 30000, "192.0.2.1", 8080, kSyn), kOk,
       bare_tcp4("10.10.1.11", 30000, "10.10.1.10", 80, kSyn)},
      {"it leaves by lan0 again, from the router's lan address", Hook::TcEgress, "lan0",
       bare_tcp4("10.10.1.11", 30000, "10.10.1.10", 80, kSyn), kOk,
       bare_tcp4("10.10.1.1", 30000, "10.10.1.10", 80, kSyn)},
      {"the server answers the router", Hook::TcIngress, "lan0",
       bare_tcp4("10.10.1.10", 80, "10.10.1.1", 30000, kSyn | kAck), kOk,
       bare_tcp4("10.10.1.10", 80, "10.10.1.11", 30000, kSyn | kAck)},
      {"which sends it to .11 as from the public address", Hook::TcEgress, "lan0",
       bare_tcp4("10.10.1.10", 80, "10.10.1.11", 30000, kSyn | kAck), kOk,
       bare_tcp4("192.0.2.1", 8080, "10.10.1.11", 30000, kSyn | kAck)},
  });
  EXPECT_EQ(dp.nat_counter(SLUICE_NAT_NEW_HAIRPIN).packets, before + 1);
}

// ICMP errors carry the first bytes of the packet they are about: the
// quote must be translated with the packet's addresses, and the error's
// own address when it is the translated one. The quoted transport
// checksum is left alone (receivers do not check it), so the expected
// quote is the original one with addresses, ports and IPv4 header
// checksum edited.
Frame quote_of(Frame f, const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
               std::uint16_t keep_transport_checksum) {
  std::uint8_t* ip = f.data() + 14;
  inet_pton(AF_INET, src, ip + 12);
  inet_pton(AF_INET, dst, ip + 16);
  ip[20] = sport >> 8, ip[21] = sport & 0xff, ip[22] = dport >> 8, ip[23] = dport & 0xff;
  ip[26] = keep_transport_checksum >> 8, ip[27] = keep_transport_checksum & 0xff;
  ip[10] = ip[11] = 0;
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += ip[i] << 8 | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<std::uint8_t>(~sum >> 8), ip[11] = static_cast<std::uint8_t>(~sum & 0xff);
  return f;
}

TEST_F(Nat, IcmpErrorsQuotingATranslatedPacketAreTranslatedBack) {
  auto before = dp.nat_counter(SLUICE_NAT_ICMP_ERROR).packets;
  auto out = udp4("10.10.1.10", 20000, "192.0.2.2", 9999);
  auto sent = udp4("192.0.2.1", 20000, "192.0.2.2", 9999);
  std::uint16_t sent_udp_checksum = static_cast<std::uint16_t>(sent[40] << 8 | sent[41]);
  auto wan_error = PacketBuilder::ipv4("192.0.2.2", "192.0.2.1").icmp_error(3, 3, sent).build();
  auto lan_error =
      PacketBuilder::ipv4("192.0.2.2", "10.10.1.10")
          .icmp_error(3, 3,
                      quote_of(sent, "10.10.1.10", 20000, "192.0.2.2", 9999, sent_udp_checksum))
          .build();
  // The inside host of a UDP port forward refuses a datagram.
  auto arrived = udp4("192.0.2.2", 41000, "10.10.1.10", 5353);
  std::uint16_t arrived_udp_checksum = static_cast<std::uint16_t>(arrived[40] << 8 | arrived[41]);
  auto inside_error =
      PacketBuilder::ipv4("10.10.1.10", "192.0.2.2").icmp_error(3, 3, arrived).build();
  auto public_error =
      PacketBuilder::ipv4("192.0.2.1", "192.0.2.2")
          .icmp_error(
              3, 3, quote_of(arrived, "192.0.2.2", 41000, "192.0.2.1", 5353, arrived_udp_checksum))
          .build();
  run({
      {"a masqueraded datagram comes in", Hook::TcIngress, "lan0", out, kOk},
      {"and leaves translated", Hook::TcEgress, "wan0", out, kOk, sent},
      {"the server's port unreachable goes to the lan host, quoting what it sent", Hook::TcIngress,
       "wan0", wan_error, kOk, lan_error},
      {"a datagram to the forwarded UDP port", Hook::TcIngress, "wan0",
       udp4("192.0.2.2", 41000, "192.0.2.1", 5353), kOk, arrived},
      {"the inside host's port unreachable is related", Hook::TcIngress, "lan0", inside_error, kOk},
      {"and leaves as from the public address, quoting the public port", Hook::TcEgress, "wan0",
       inside_error, kOk, public_error},
  });
  EXPECT_EQ(dp.nat_counter(SLUICE_NAT_ICMP_ERROR).packets, before + 2);
}

}  // namespace
}  // namespace sluice::testkit
