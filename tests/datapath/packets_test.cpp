// Crafted packets through the loaded tc programs: conntrack transitions,
// related ICMP errors, malformed input, VLAN, IPv6 extension headers and
// reject answers (checked byte by byte, checksums included).
#include <arpa/inet.h>

#include "datapath/bpf_error.h"
#include "datapath/fixture.h"
#include "flows/event_reader.h"

namespace sluice::testkit {
namespace {

const char* kRuleset = R"(
[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "web"
chain = "forward"
from = "10.1.0.0/24"
to = "10.2.0.0/24"
proto = "tcp"
port = 80
action = "accept"

[[rule]]
name = "dns"
chain = "forward"
from = "10.1.0.0/24"
proto = "udp"
port = 53
action = "accept"

[[rule]]
name = "ping"
chain = "forward"
proto = "icmp"
icmp_type = 8
action = "accept"

[[rule]]
name = "telnet"
chain = "forward"
proto = "tcp"
port = 23
action = "reject"

[[rule]]
name = "tftp"
chain = "forward"
proto = "udp"
port = 69
action = "reject"

[[rule]]
name = "v6-web"
chain = "forward"
from = "fd00:1::/64"
proto = "tcp"
port = 443
action = "accept"

[[rule]]
name = "ssh-to-me"
chain = "input"
proto = "tcp"
port = 22
action = "accept"

[[rule]]
name = "no-smtp-out"
chain = "output"
proto = "tcp"
port = 25
action = "drop"
)";

constexpr std::uint32_t kOk = TC_ACT_OK, kShot = TC_ACT_SHOT, kRedirect = TC_ACT_REDIRECT;

class Packets : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    apply(kRuleset);
  }

  // The only tracked flow (tests start from an empty table).
  sluice_ct_entry only_flow() {
    auto all = dp.conntrack();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? sluice_ct_entry{} : all[0].value;
  }
};

TEST_F(Packets, TcpHandshakeAndTeardownWalkTheStateMachine) {
  auto c2s = [](std::uint8_t flags) {
    return PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40000, 80, flags).build();
  };
  auto s2c = [](std::uint8_t flags) {
    return PacketBuilder::ipv4("10.2.0.9", "10.1.0.5").tcp(80, 40000, flags).build();
  };

  ASSERT_EQ(ingress(c2s(kSyn)), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_SYN_SENT);
  ASSERT_EQ(ingress(s2c(kSyn | kAck)), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_SYN_RECV);
  ASSERT_EQ(ingress(c2s(kAck)), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_ESTABLISHED);
  ASSERT_EQ(ingress(s2c(kAck | kPsh)), kOk);
  ASSERT_EQ(ingress(c2s(kFin | kAck)), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_FIN_WAIT);
  ASSERT_EQ(ingress(s2c(kFin | kAck)), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_CLOSING);

  auto flow = only_flow();
  EXPECT_EQ(flow.packets[SLUICE_DIR_ORIGINAL], 3u);
  EXPECT_EQ(flow.packets[SLUICE_DIR_REPLY], 3u);
  EXPECT_EQ(flow.rule_index, 0u);  // "web"
  EXPECT_EQ(flow.chain, SLUICE_CHAIN_FORWARD);

  // Port reuse after close: a fresh SYN goes through policy again.
  auto before = dp.rule_counter(0).packets;
  ASSERT_EQ(ingress(c2s(kSyn)), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_SYN_SENT);
  EXPECT_EQ(dp.rule_counter(0).packets, before + 1);

  ASSERT_EQ(ingress(s2c(kRst)), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_CLOSED);
}

// Status counts conntrack in the kernel rather than copying it out: the
// count must be what a walk of the table finds.
TEST_F(Packets, TheKernelsCountOfConntrackIsWhatAWalkFinds) {
  auto count = [&] {
    for (const auto& m : dp.map_usage(dp.count_conntrack_tables()))
      if (m.name == "conntrack") return m.entries;
    return std::size_t{~0u};
  };
  EXPECT_EQ(count(), 0u);
  for (std::uint16_t port = 40000; port < 40300; ++port)
    ASSERT_EQ(ingress(PacketBuilder::ipv4("10.1.0.6", "10.2.0.9").tcp(port, 80, kSyn).build()),
              kOk);
  EXPECT_EQ(dp.conntrack().size(), 300u);
  EXPECT_EQ(count(), 300u);
  dp.clear_conntrack();
  EXPECT_EQ(count(), 0u);
}

TEST_F(Packets, ReplyTrafficIsAllowedOnlyAfterAnAllowedRequest) {
  auto reply = PacketBuilder::ipv4("10.2.0.9", "10.1.0.5").tcp(80, 40001, kSyn | kAck).build();
  auto drops = this->drops(SLUICE_DROP_POLICY_DEFAULT);
  EXPECT_EQ(ingress(reply), kShot);
  EXPECT_EQ(this->drops(SLUICE_DROP_POLICY_DEFAULT), drops + 1);
  EXPECT_TRUE(dp.conntrack().empty());

  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40001, 80, kSyn).build()), kOk);
  EXPECT_EQ(ingress(reply), kOk);

  // The same request from outside the rule's source range is not allowed.
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.1.5", "10.2.0.9").tcp(40002, 80, kSyn).build()),
            kShot);
}

TEST_F(Packets, UdpAndIcmpEchoRepliesFollowTheirRequests) {
  auto query = PacketBuilder::ipv4("10.1.0.5", "192.0.2.53").udp(5353, 53).build();
  auto answer = PacketBuilder::ipv4("192.0.2.53", "10.1.0.5").udp(53, 5353).build();
  EXPECT_EQ(ingress(answer), kShot);
  ASSERT_EQ(ingress(query), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_NEW);
  EXPECT_EQ(ingress(answer), kOk);
  EXPECT_EQ(only_flow().state, SLUICE_CT_ESTABLISHED);
  dp.clear_conntrack();

  auto echo = PacketBuilder::ipv4("10.9.0.1", "10.2.0.9").icmp(8, 0, 0x77000001).build();
  auto echo_reply = PacketBuilder::ipv4("10.2.0.9", "10.9.0.1").icmp(0, 0, 0x77000001).build();
  auto other_id = PacketBuilder::ipv4("10.2.0.9", "10.9.0.1").icmp(0, 0, 0x78000001).build();
  EXPECT_EQ(ingress(echo_reply), kShot);
  ASSERT_EQ(ingress(echo), kOk);
  EXPECT_EQ(ingress(echo_reply), kOk);
  EXPECT_EQ(ingress(other_id), kShot);
}

// SCTP has ports where UDP has them: rules (from Kubernetes
// NetworkPolicy; the TOML has no sctp) match them, and replies follow.
TEST_F(Packets, SctpPortsAreMatchedAndRepliesFollow) {
  auto cfg = parse_or_die("[chains]\nforward = \"drop\"\n");
  config::Rule r;
  r.name = "networkpolicy x/sctp-80 (ingress)";
  r.chain = config::Chain::Forward;
  r.proto = config::Protocol::Sctp;
  r.ports = {{80, 80}};
  r.action = config::Action::Accept;
  cfg.rules.push_back(r);
  dp.apply(policy::compile(cfg));
  auto init = PacketBuilder::ipv4("10.42.0.1", "10.42.0.2").sctp(40000, 80).build();
  auto other = PacketBuilder::ipv4("10.42.0.1", "10.42.0.2").sctp(40001, 81).build();
  auto udp = PacketBuilder::ipv4("10.42.0.1", "10.42.0.2").udp(40002, 80).build();
  auto answer = PacketBuilder::ipv4("10.42.0.2", "10.42.0.1").sctp(80, 40000).build();
  EXPECT_EQ(ingress(answer), kShot);
  EXPECT_EQ(ingress(other), kShot);
  EXPECT_EQ(ingress(udp), kShot);
  ASSERT_EQ(ingress(init), kOk);
  EXPECT_EQ(ingress(answer), kOk);
  auto truncated = init;
  truncated.resize(l3_offset(init) + 20 + 2);  // the ports cut in half
  EXPECT_EQ(ingress(truncated), kShot);
}

TEST_F(Packets, IcmpErrorsAboutATrackedFlowAreRelated) {
  auto query = PacketBuilder::ipv4("10.1.0.5", "192.0.2.53").udp(5353, 53).build();
  auto unreachable =
      PacketBuilder::ipv4("198.51.100.1", "10.1.0.5").icmp_error(3, 3, query).build();
  auto v6query = PacketBuilder::ipv6("fd00:1::5", "2001:db8::1").tcp(40000, 443, kSyn).build();
  auto too_big =
      PacketBuilder::ipv6("2001:db8:ffff::1", "fd00:1::5").icmp_error(2, 0, v6query).build();

  EXPECT_EQ(ingress(unreachable), kShot);  // no flow yet: default drop
  EXPECT_EQ(ingress(too_big), kShot);
  ASSERT_EQ(ingress(query), kOk);
  ASSERT_EQ(ingress(v6query), kOk);
  EXPECT_EQ(ingress(unreachable), kOk);
  EXPECT_EQ(ingress(too_big), kOk);
  // An error quoting another flow stays unrelated.
  auto other = PacketBuilder::ipv4("10.1.0.5", "192.0.2.54").udp(5353, 53).build();
  EXPECT_EQ(
      ingress(PacketBuilder::ipv4("198.51.100.1", "10.1.0.5").icmp_error(3, 3, other).build()),
      kShot);
}

struct Malformed {
  const char* what;
  std::vector<std::uint8_t> frame;
  sluice_drop_reason reason;
};

std::vector<std::uint8_t> with(std::vector<std::uint8_t> f, std::size_t off, std::uint8_t v) {
  f[off] = v;
  return f;
}

std::vector<std::uint8_t> cut(std::vector<std::uint8_t> f, std::size_t len) {
  f.resize(len);
  return f;
}

TEST_F(Packets, MalformedPacketsAreDroppedWithAReason) {
  auto tcp = PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40000, 80, kSyn).build();
  auto icmp6 = PacketBuilder::ipv6("fd00:1::5", "2001:db8::1").icmp(128, 0).build();
  const std::vector<Malformed> cases = {
      // The kernel's test runner refuses frames whose Ethernet or base IP
      // header is cut short, so those truncations are checked in parse
      // order from the options on.
      {"IPv4 header length below 20", with(tcp, 14, 0x44), SLUICE_DROP_MALFORMED},
      {"IPv4 version 5 in an IPv4 frame", with(tcp, 14, 0x55), SLUICE_DROP_MALFORMED},
      {"IPv4 total length shorter than its header", with(with(tcp, 16, 0), 17, 8),
       SLUICE_DROP_MALFORMED},
      {"IPv4 options running past the end", cut(with(with(tcp, 14, 0x4f), 16, 1), 14 + 40),
       SLUICE_DROP_TRUNCATED},
      {"TCP header cut short", cut(tcp, 14 + 20 + 10), SLUICE_DROP_TRUNCATED},
      {"TCP data offset below 5", with(tcp, 14 + 20 + 12, 0x40), SLUICE_DROP_MALFORMED},
      {"IPv6 extension header cut short",
       cut(PacketBuilder::ipv6("fd00:1::5", "2001:db8::1").ipv6_extension(0).udp(1, 2).build(),
           14 + 40 + 1),
       SLUICE_DROP_TRUNCATED},
      {"ICMPv6 header cut short", cut(icmp6, 14 + 40 + 3), SLUICE_DROP_TRUNCATED},
      {"ICMP (v4) inside IPv6", with(icmp6, 14 + 6, 1), SLUICE_DROP_MALFORMED},
      {"TCP SYN+FIN", PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(1, 80, kSyn | kFin).build(),
       SLUICE_DROP_CT_INVALID},
      {"TCP without flags", PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(1, 80, 0).build(),
       SLUICE_DROP_CT_INVALID},
  };
  for (const auto& c : cases) {
    auto before = drops(c.reason);
    std::uint32_t verdict = 0;
    try {
      verdict = ingress(c.frame);
    } catch (const datapath::BpfError& e) {
      ADD_FAILURE() << c.what << ": " << e.what();
      continue;
    }
    EXPECT_EQ(verdict, kShot) << c.what;
    EXPECT_EQ(drops(c.reason), before + 1) << c.what;
  }
  EXPECT_TRUE(dp.conntrack().empty());
}

TEST_F(Packets, NonIpFramesPass) {
  std::vector<std::uint8_t> arp(42, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  EXPECT_EQ(ingress(arp), kOk);
}

TEST_F(Packets, Ipv6NeighbourDiscoveryPassesWhateverTheRules) {
  dp.set_local_addresses({local("fd00::1")});
  for (std::uint8_t type = 133; type <= 137; ++type)
    EXPECT_EQ(ingress(PacketBuilder::ipv6("fe80::2", "fd00::1").icmp(type, 0).build()), kOk)
        << int(type);
  EXPECT_EQ(ingress(PacketBuilder::ipv6("fe80::2", "fd00::1").icmp(128, 0).build()), kShot)
      << "echo requests to this host still follow the input chain";
  EXPECT_TRUE(dp.conntrack().empty());
}

TEST_F(Packets, VlanTaggedFramesAreParsedThroughTwoTags) {
  EXPECT_EQ(
      ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").vlan(10).tcp(40000, 80, kSyn).build()),
      kOk);
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9")
                        .vlan(100, 0x88a8)
                        .vlan(10)
                        .tcp(40001, 80, kSyn)
                        .build()),
            kOk);
  EXPECT_EQ(
      ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").vlan(10).tcp(40002, 81, kSyn).build()),
      kShot);

  auto before = drops(SLUICE_DROP_UNSUPPORTED);
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9")
                        .vlan(1)
                        .vlan(2)
                        .vlan(3)
                        .tcp(40003, 80, kSyn)
                        .build()),
            kShot);
  EXPECT_EQ(drops(SLUICE_DROP_UNSUPPORTED), before + 1);

  // A reject answer keeps the tags, so it goes back on the same VLAN.
  auto out = ingress_run(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9")
                             .vlan(100, 0x88a8)
                             .vlan(10)
                             .tcp(40004, 23, kSyn)
                             .build());
  ASSERT_EQ(out.retval, kRedirect);
  EXPECT_EQ(out.packet[12], 0x88);
  EXPECT_EQ(out.packet[13], 0xa8);
  EXPECT_EQ(out.packet[16], 0x81);
  EXPECT_EQ(out.packet[19], 10);
  EXPECT_TRUE(checksums_valid(out.packet));
}

TEST_F(Packets, Ipv6ExtensionHeadersAreWalked) {
  auto v6 = [] {
    return PacketBuilder::ipv6("fd00:1::5", "2001:db8::1").ipv6_extension(0).ipv6_extension(60);
  };
  EXPECT_EQ(ingress(v6().tcp(40000, 443, kSyn).build()), kOk);
  EXPECT_EQ(ingress(v6().tcp(40001, 444, kSyn).build()), kShot);
  // A first fragment carries the transport header and is judged normally.
  EXPECT_EQ(ingress(PacketBuilder::ipv6("fd00:1::5", "2001:db8::1")
                        .ipv6_extension(44, 0)
                        .tcp(40002, 443, kSyn)
                        .build()),
            kOk);

  auto frag_before = drops(SLUICE_DROP_FRAGMENT);
  EXPECT_EQ(ingress(PacketBuilder::ipv6("fd00:1::5", "2001:db8::1")
                        .ipv6_extension(44, 100)
                        .udp(1, 2)
                        .build()),
            kShot);
  EXPECT_EQ(drops(SLUICE_DROP_FRAGMENT), frag_before + 1);

  auto deep = PacketBuilder::ipv6("fd00:1::5", "2001:db8::1");
  for (int i = 0; i < SLUICE_MAX_IPV6_EXT_HEADERS + 1; ++i) deep.ipv6_extension(60);
  auto unsupported_before = drops(SLUICE_DROP_UNSUPPORTED);
  EXPECT_EQ(ingress(deep.tcp(40003, 443, kSyn).build()), kShot);
  EXPECT_EQ(drops(SLUICE_DROP_UNSUPPORTED), unsupported_before + 1);
}

TEST_F(Packets, Ipv4OptionsAreSkippedAndLaterFragmentsDropped) {
  EXPECT_EQ(
      ingress(
          PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").ipv4_options(8).tcp(40000, 80, kSyn).build()),
      kOk);
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9")
                        .ipv4_options(40)
                        .tcp(40001, 81, kSyn)
                        .build()),
            kShot);
  auto before = drops(SLUICE_DROP_FRAGMENT);
  EXPECT_EQ(
      ingress(
          PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").ipv4_fragment(100, false).udp(1, 53).build()),
      kShot);
  EXPECT_EQ(drops(SLUICE_DROP_FRAGMENT), before + 1);
}

std::uint16_t be16(const std::vector<std::uint8_t>& f, std::size_t off) {
  return static_cast<std::uint16_t>(f[off] << 8 | f[off + 1]);
}
std::uint32_t be32(const std::vector<std::uint8_t>& f, std::size_t off) {
  return static_cast<std::uint32_t>(be16(f, off)) << 16 | be16(f, off + 2);
}

TEST_F(Packets, RejectedTcpIsAnsweredWithAValidRst) {
  auto syn = PacketBuilder::ipv4("10.1.0.5", "10.2.0.9")
                 .tcp(40000, 23, kSyn, 5000)
                 .payload({1, 2, 3})
                 .build();
  auto out = ingress_run(syn);
  ASSERT_EQ(out.retval, kRedirect);
  const auto& f = out.packet;
  ASSERT_EQ(f.size(), 14u + 20 + 20);
  EXPECT_TRUE(std::equal(f.begin(), f.begin() + 6, syn.begin() + 6)) << "MACs swapped";
  EXPECT_TRUE(std::equal(f.begin() + 26, f.begin() + 30, syn.begin() + 30))
      << "source is the old destination";
  EXPECT_TRUE(std::equal(f.begin() + 30, f.begin() + 34, syn.begin() + 26))
      << "destination is the old source";
  EXPECT_EQ(be16(f, 34), 23);
  EXPECT_EQ(be16(f, 36), 40000);
  EXPECT_EQ(f[34 + 13], kRst | kAck);
  EXPECT_EQ(be32(f, 34 + 8), 5000u + 3 + 1) << "acknowledges the SYN and its data";
  EXPECT_TRUE(checksums_valid(f));
  EXPECT_TRUE(dp.conntrack().empty());

  auto v6 = ingress_run(
      PacketBuilder::ipv6("fd00:1::5", "2001:db8::1").tcp(40000, 23, kAck, 1, 777).build());
  ASSERT_EQ(v6.retval, kRedirect);
  ASSERT_EQ(v6.packet.size(), 14u + 40 + 20);
  EXPECT_EQ(v6.packet[54 + 13], kRst) << "answering an ACK: RST with its ack number as seq";
  EXPECT_EQ(be32(v6.packet, 54 + 4), 777u);
  EXPECT_TRUE(checksums_valid(v6.packet));
}

TEST_F(Packets, RejectedUdpIsAnsweredWithPortUnreachable) {
  auto query = PacketBuilder::ipv4("10.1.0.5", "10.2.0.9")
                   .ipv4_options(4)
                   .udp(5000, 69)
                   .payload(std::vector<std::uint8_t>(30, 7))
                   .build();
  auto out = ingress_run(query);
  ASSERT_EQ(out.retval, kRedirect);
  const auto& f = out.packet;
  ASSERT_EQ(f.size(), 14u + 20 + 8 + 24 + 8);
  EXPECT_EQ(f[14 + 9], 1);  // ICMP
  EXPECT_EQ(f[34], 3);      // destination unreachable
  EXPECT_EQ(f[35], 3);      // port unreachable
  EXPECT_TRUE(std::equal(f.begin() + 42, f.end(), query.begin() + 14))
      << "quotes the IP header and 8 bytes";
  EXPECT_TRUE(checksums_valid(f));

  auto v6query = PacketBuilder::ipv6("fd00:1::5", "2001:db8::1")
                     .udp(5000, 69)
                     .payload(std::vector<std::uint8_t>(30, 7))
                     .build();
  auto v6 = ingress_run(v6query);
  ASSERT_EQ(v6.retval, kRedirect);
  ASSERT_EQ(v6.packet.size(), 14u + 40 + 8 + 48);
  EXPECT_EQ(v6.packet[14 + 6], 58);
  EXPECT_EQ(v6.packet[54], 1);  // destination unreachable
  EXPECT_EQ(v6.packet[55], 4);  // port unreachable
  EXPECT_TRUE(std::equal(v6.packet.begin() + 62, v6.packet.end(), v6query.begin() + 14));
  EXPECT_TRUE(checksums_valid(v6.packet));
}

TEST_F(Packets, ADroppedPacketIsCountedUnderOneReason) {
  apply(
      "[[rule]]\nname = \"no-icmp\"\nchain = \"forward\"\nproto = \"icmp\"\naction = \"reject\"\n");
  auto query = PacketBuilder::ipv4("10.1.0.5", "192.0.2.53").udp(5353, 53).build();
  // An ICMP error is never answered with one: the reject cannot be built.
  auto error = PacketBuilder::ipv4("198.51.100.1", "10.1.0.5").icmp_error(3, 3, query).build();
  auto rule = drops(SLUICE_DROP_POLICY_RULE), failed = drops(SLUICE_DROP_REJECT_FAILED);
  EXPECT_EQ(ingress(error), kShot);
  EXPECT_EQ(drops(SLUICE_DROP_REJECT_FAILED), failed + 1);
  EXPECT_EQ(drops(SLUICE_DROP_POLICY_RULE), rule);
  // An answered reject counts under the rule.
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").icmp(8, 0, 1).build()), kRedirect);
  EXPECT_EQ(drops(SLUICE_DROP_POLICY_RULE), rule + 1);
  EXPECT_EQ(drops(SLUICE_DROP_REJECT_FAILED), failed + 1);
}

TEST_F(Packets, InputAndOutputChainsFollowLocalAddresses) {
  dp.set_local_addresses({local("10.0.0.1"), local("fd00::1")});
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.9.9.9", "10.0.0.1").tcp(40000, 22, kSyn).build()), kOk);
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.9.9.9", "10.0.0.1").tcp(40001, 80, kSyn).build()),
            kShot)
      << "input default is drop; forward rule 'web' does not apply to this host";
  EXPECT_EQ(ingress(PacketBuilder::ipv6("fd00:9::9", "fd00::1").tcp(40002, 22, kSyn).build()), kOk);

  EXPECT_EQ(egress(PacketBuilder::ipv4("10.0.0.1", "192.0.2.25").tcp(40003, 25, kSyn).build()),
            kShot);
  EXPECT_EQ(egress(PacketBuilder::ipv4("10.0.0.1", "192.0.2.80").tcp(40004, 80, kSyn).build()),
            kOk);
  // Forwarded packets leaving are not judged again at egress.
  EXPECT_EQ(egress(PacketBuilder::ipv4("10.1.0.5", "192.0.2.25").tcp(40005, 25, kSyn).build()),
            kOk);
}

TEST_F(Packets, ApplyKeepsEstablishedFlowsAndJudgesNewOnesByTheNewRules) {
  auto syn = PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40000, 80, kSyn).build();
  auto data = PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40000, 80, kAck | kPsh).build();
  ASSERT_EQ(ingress(syn), kOk);
  auto gen = dp.active_generation();

  apply("[chains]\nforward = \"drop\"\n");
  EXPECT_NE(dp.active_generation(), gen);
  EXPECT_EQ(ingress(data), kOk) << "the tracked flow survives the apply";
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40001, 80, kSyn).build()),
            kShot);
}

TEST_F(Packets, AuditModeCountsTheVerdictAndLetsTheFlowThrough) {
  apply(R"(
[chains]
forward = { default = "drop", mode = "audit" }
[[rule]]
name = "would-reject-telnet"
chain = "forward"
proto = "tcp"
port = 23
action = "reject"
mode = "audit"
)");
  std::vector<sluice_event> events;
  flows::EventReader reader(dp.events_fd(), [&](const sluice_event& e) { events.push_back(e); });
  reader.consume();  // whatever earlier tests left
  events.clear();
  auto rejects = dp.audit_counter(SLUICE_AUDIT_RULE_REJECT).packets;
  auto defaults = dp.audit_counter(SLUICE_AUDIT_DEFAULT_DROP).packets;
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40000, 23, kSyn).build()), kOk);
  reader.consume();
  ASSERT_EQ(events.size(), 1u) << "one audit event for the audited packet";
  EXPECT_EQ(events[0].type, SLUICE_EVENT_AUDIT);
  EXPECT_EQ(events[0].rule_index, 0u);
  EXPECT_EQ(events[0].action, SLUICE_ACTION_REJECT);
  EXPECT_EQ(events[0].chain, SLUICE_CHAIN_FORWARD);
  EXPECT_EQ(ntohs(events[0].dport), 23);
  EXPECT_EQ(events[0].src[3], 5);
  EXPECT_EQ(dp.rule_counter(0).packets, 1u);
  EXPECT_EQ(dp.audit_counter(SLUICE_AUDIT_RULE_REJECT).packets, rejects + 1);
  EXPECT_EQ(
      ingress(PacketBuilder::ipv4("10.2.0.9", "10.1.0.5").tcp(23, 40000, kSyn | kAck).build()), kOk)
      << "the audited flow is tracked, so its replies pass";
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40001, 25, kSyn).build()), kOk);
  EXPECT_EQ(dp.audit_counter(SLUICE_AUDIT_DEFAULT_DROP).packets, defaults + 1);
}

TEST_F(Packets, RuleCountersCountTheDecidedPacketsAndBytes) {
  auto syn = PacketBuilder::ipv4("10.1.0.5", "10.2.0.9").tcp(40000, 80, kSyn).build();
  ASSERT_EQ(ingress(syn), kOk);
  EXPECT_EQ(dp.rule_counter(0).packets, 1u);
  EXPECT_EQ(dp.rule_counter(0).bytes, syn.size());
  EXPECT_EQ(dp.rule_counter(1).packets, 0u);
}

}  // namespace
}  // namespace sluice::testkit
