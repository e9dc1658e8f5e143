// The flow events the tc programs send: one per decision, with the rule
// and generation that decided it, drops rate-limited per source, and every
// drop accounted for as delivered, rate limited or lost.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>

#include "datapath/fixture.h"
#include "flows/event_reader.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK, kShot = TC_ACT_SHOT, kRedirect = TC_ACT_REDIRECT;

const char* kRuleset = R"(
[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "web"
chain = "forward"
proto = "tcp"
port = 80
action = "accept"

[[rule]]
name = "telnet"
chain = "forward"
proto = "tcp"
port = 23
action = "reject"

[[rule]]
name = "smb"
chain = "forward"
proto = "tcp"
port = 445
action = "drop"
)";

class Events : public DatapathTest {
 protected:
  std::vector<sluice_event> events;
  std::vector<sluice_event_closed> closes;  // the whole records of SLUICE_EVENT_CLOSED events
  flows::EventReader reader{dp.events_fd(), [this](const sluice_event& e) {
                              events.push_back(e);
                              if (e.type == SLUICE_EVENT_CLOSED)
                                closes.push_back(reinterpret_cast<const sluice_event_closed&>(e));
                            }};

  void SetUp() override {
    DatapathTest::SetUp();
    apply(kRuleset);
    reader.consume();  // whatever earlier tests left
    events.clear();
    closes.clear();
  }
  // Makes the one tracked flow look idle for `seconds` longer than it is.
  void age_the_flow(std::uint64_t seconds) {
    auto table = dp.conntrack();
    ASSERT_EQ(table.size(), 1u);
    auto entry = table[0].value;
    entry.last_seen_ns -= seconds * 1000000000ull;
    ASSERT_EQ(bpf_map_update_elem(dp.conntrack_tables().for_key(table[0].key), &table[0].key,
                                  &entry, BPF_EXIST),
              0);
  }
  std::vector<sluice_event> take() {
    reader.consume();
    return std::exchange(events, {});
  }
  std::uint64_t all_drops() {
    std::uint64_t n = 0;
    for (int r = 1; r < SLUICE_DROP_REASON_COUNT; ++r)
      n += drops(static_cast<sluice_drop_reason>(r));
    return n;
  }
  std::uint64_t lost() {
    return dp.events_lost(SLUICE_EVENT_LOST_RATE_LIMITED) +
           dp.events_lost(SLUICE_EVENT_LOST_RING_FULL);
  }
};

TEST_F(Events, AnAcceptedFlowReportsItsRuleOnceNotPerPacket) {
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.1", "10.4.0.1").tcp(40000, 80, kSyn).build()), kOk);
  ASSERT_EQ(
      ingress(PacketBuilder::ipv4("10.4.0.1", "10.3.0.1").tcp(80, 40000, kSyn | kAck).build()),
      kOk);
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.1", "10.4.0.1").tcp(40000, 80, kAck).build()), kOk);
  auto got = take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, SLUICE_EVENT_NEW_FLOW);
  EXPECT_EQ(got[0].rule_index, 0u);
  EXPECT_EQ(got[0].generation, dp.active_generation());
  EXPECT_EQ(got[0].chain, SLUICE_CHAIN_FORWARD);
  EXPECT_EQ(got[0].action, SLUICE_ACTION_ACCEPT);
  EXPECT_EQ(got[0].proto, IPPROTO_TCP);
  EXPECT_EQ(ntohs(got[0].sport), 40000);
  EXPECT_EQ(ntohs(got[0].dport), 80);
  EXPECT_EQ(got[0].src[3], 1);
  EXPECT_EQ(got[0].dst[1], 4);
  EXPECT_EQ(got[0].nat, 0);
}

// A tuple that comes back after its flow timed out (before the daemon's
// sweep found it) starts a new flow; the old one is reported closed, once,
// with its counts.
TEST_F(Events, AFlowWhoseTupleComesBackAfterItsTimeoutIsReportedClosed) {
  auto syn = PacketBuilder::ipv4("10.3.0.7", "10.4.0.1").tcp(40000, 80, kSyn).build();
  ASSERT_EQ(ingress(syn), kOk);
  ASSERT_EQ(
      ingress(PacketBuilder::ipv4("10.4.0.1", "10.3.0.7").tcp(80, 40000, kSyn | kAck).build()),
      kOk);
  take();
  age_the_flow(SLUICE_CT_TIMEOUT_TCP_SYN + 1);
  ASSERT_EQ(ingress(syn), kOk) << "judged afresh, and accepted";
  auto got = take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, SLUICE_EVENT_CLOSED);
  EXPECT_EQ(got[1].type, SLUICE_EVENT_NEW_FLOW);
  ASSERT_EQ(closes.size(), 1u);
  const auto& c = closes[0];
  EXPECT_EQ(c.key.proto, IPPROTO_TCP);
  EXPECT_EQ(c.entry.packets[SLUICE_DIR_ORIGINAL], 1u);
  EXPECT_EQ(c.entry.packets[SLUICE_DIR_REPLY], 1u);
  EXPECT_EQ(c.entry.rule_index, 0u) << "the rule that accepted it";
  EXPECT_EQ(c.entry.chain, SLUICE_CHAIN_FORWARD);
  ASSERT_EQ(dp.conntrack().size(), 1u);
  EXPECT_EQ(dp.conntrack()[0].value.packets[SLUICE_DIR_REPLY], 0u) << "the tuple's new flow";
}

// The two directions of a flow run on different CPUs at once: a packet
// may find last_seen stamped by the other CPU after it read its own clock.
// That flow is fresh; it used to look idle for centuries (unsigned
// wrap-around) and was ended mid-stream, the next packet picked up as a new
// flow (with a new masquerade port, which the server then reset).
TEST_F(Events, AFlowStampedLaterThanThePacketsClockIsNotEnded) {
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.9", "10.4.0.1").tcp(40000, 80, kSyn).build()), kOk);
  ASSERT_EQ(
      ingress(PacketBuilder::ipv4("10.4.0.1", "10.3.0.9").tcp(80, 40000, kSyn | kAck).build()),
      kOk);
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.9", "10.4.0.1").tcp(40000, 80, kAck).build()), kOk);
  take();
  ASSERT_EQ(dp.conntrack().size(), 1u);
  std::uint64_t stamped = 0;
  {
    auto table = dp.conntrack();
    auto entry = table[0].value;
    entry.last_seen_ns += 30ull * 1000000000ull;  // "later" than any clock read below
    stamped = entry.last_seen_ns;
    ASSERT_EQ(bpf_map_update_elem(dp.conntrack_tables().for_key(table[0].key), &table[0].key,
                                  &entry, BPF_EXIST),
              0);
  }
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.9", "10.4.0.1").tcp(40000, 80, kAck).build()), kOk);
  EXPECT_TRUE(take().empty()) << "neither closed nor decided again";
  ASSERT_EQ(dp.conntrack().size(), 1u);
  EXPECT_EQ(dp.conntrack()[0].value.state, SLUICE_CT_ESTABLISHED);
  EXPECT_EQ(dp.conntrack()[0].value.packets[SLUICE_DIR_ORIGINAL], 3u)
      << "the same flow, counted on";
  EXPECT_EQ(dp.conntrack()[0].value.last_seen_ns, stamped)
      << "last_seen only moves forward (tc reads the coarse clock for known flows)";
}

TEST_F(Events, ASynOnAResetFlowReportsItClosedExceptWhenOnlyDenialsAreRecorded) {
  auto syn = PacketBuilder::ipv4("10.3.0.8", "10.4.0.1").tcp(40000, 80, kSyn).build();
  auto rst = PacketBuilder::ipv4("10.3.0.8", "10.4.0.1").tcp(40000, 80, kRst).build();
  ASSERT_EQ(ingress(syn), kOk);
  ASSERT_EQ(ingress(rst), kOk);
  ASSERT_EQ(ingress(syn), kOk);
  auto got = take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, SLUICE_EVENT_NEW_FLOW);
  EXPECT_EQ(got[1].type, SLUICE_EVENT_CLOSED);
  EXPECT_EQ(got[2].type, SLUICE_EVENT_NEW_FLOW);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].entry.state, SLUICE_CT_CLOSED);
  EXPECT_EQ(closes[0].entry.packets[SLUICE_DIR_ORIGINAL], 2u);

  apply(std::string(kRuleset) + "[flows]\nevents = \"denied\"\n");
  take();
  ASSERT_EQ(ingress(rst), kOk);
  ASSERT_EQ(ingress(syn), kOk);
  EXPECT_TRUE(take().empty()) << "\"denied\": no records for the flow's end or the new one";
  EXPECT_EQ(dp.conntrack().size(), 1u) << "the tuple still starts afresh";
}

TEST_F(Events, DeniedOnlyLeavesAcceptedFlowsUnreported) {
  apply(std::string(kRuleset) + "[flows]\nevents = \"denied\"\n");
  take();
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.6", "10.4.0.1").tcp(40000, 80, kSyn).build()), kOk);
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.6", "10.4.0.1").tcp(40001, 445, kSyn).build()),
            kShot);
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << "the accepted flow is not reported, the drop is";
  EXPECT_EQ(got[0].type, SLUICE_EVENT_DROP);
  apply(kRuleset);
  take();
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.6", "10.4.0.1").tcp(40002, 80, kSyn).build()), kOk);
  EXPECT_EQ(take().size(), 1u) << "back to all: reported again";
}

TEST_F(Events, DropsAndRejectsNameTheirRuleOrTheDefault) {
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.2", "10.4.0.1").tcp(40000, 445, kSyn).build()),
            kShot);
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.2", "10.4.0.1").tcp(40001, 23, kSyn).build()),
            kRedirect);
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.2", "10.4.0.1").udp(5000, 9999).build()), kShot);
  auto got = take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, SLUICE_EVENT_DROP);
  EXPECT_EQ(got[0].rule_index, 2u);
  EXPECT_EQ(got[0].reason, SLUICE_DROP_POLICY_RULE);
  EXPECT_EQ(got[1].type, SLUICE_EVENT_REJECT);
  EXPECT_EQ(got[1].rule_index, 1u);
  EXPECT_EQ(got[1].action, SLUICE_ACTION_REJECT);
  EXPECT_EQ(ntohs(got[1].dport), 23) << "the event shows the rejected packet, not the answer";
  EXPECT_EQ(got[2].type, SLUICE_EVENT_DROP);
  EXPECT_EQ(got[2].rule_index, SLUICE_RULE_INDEX_DEFAULT);
  EXPECT_EQ(got[2].reason, SLUICE_DROP_POLICY_DEFAULT);
  EXPECT_EQ(got[2].proto, IPPROTO_UDP);
  for (const auto& e : got) EXPECT_EQ(e.chain, SLUICE_CHAIN_FORWARD);
}

TEST_F(Events, DropsBeforePolicyCarryTheirReasonAndNoChain) {
  auto bad = PacketBuilder::ipv4("10.3.0.3", "10.4.0.1").tcp(40000, 80, kSyn | kFin).build();
  ASSERT_EQ(ingress(bad), kShot);
  auto got = take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].type, SLUICE_EVENT_DROP);
  EXPECT_EQ(got[0].reason, SLUICE_DROP_CT_INVALID);
  EXPECT_EQ(got[0].chain, SLUICE_EVENT_NO_CHAIN);
  EXPECT_EQ(got[0].src[3], 3);
}

TEST_F(Events, EachSourceGetsItsOwnDropBudgetAndEveryDropIsAccountedFor) {
  auto drops_before = all_drops();
  auto lost_before = lost();
  auto limited_before = dp.events_lost(SLUICE_EVENT_LOST_RATE_LIMITED);
  constexpr unsigned kFlood = SLUICE_DROP_EVENTS_PER_SOURCE * 3;
  for (unsigned i = 0; i < kFlood; ++i)
    ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.4", "10.4.0.1").tcp(1000 + i, 445, kSyn).build()),
              kShot);
  // A second source dropping within the same second still gets reported.
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.5", "10.4.0.1").tcp(1000, 445, kSyn).build()),
            kShot);
  auto got = take();
  std::size_t from_flooder = 0, from_other = 0;
  for (const auto& e : got) (e.src[3] == 4 ? from_flooder : from_other)++;
  EXPECT_EQ(from_other, 1u);
  // The flood may straddle a second boundary: one or two budgets' worth.
  EXPECT_GE(from_flooder, SLUICE_DROP_EVENTS_PER_SOURCE);
  EXPECT_LE(from_flooder, 2 * SLUICE_DROP_EVENTS_PER_SOURCE);
  EXPECT_EQ(dp.events_lost(SLUICE_EVENT_LOST_RATE_LIMITED) - limited_before, kFlood - from_flooder);
  EXPECT_EQ(all_drops() - drops_before, got.size() + (lost() - lost_before))
      << "drops = events delivered + events rate limited or lost";
}

}  // namespace
}  // namespace sluice::testkit

namespace sluice::testkit {
namespace {

datapath::LocalAddress address(const char* text) {
  auto p = *config::parse_prefix(text).prefix;
  datapath::LocalAddress a;
  a.family = p.family;
  a.addr = p.addr;
  return a;
}

// Workload identities (CNI mode): an event carries the identity the
// identities map gave each end when the decision was made, none for
// addresses that are no workload's, and none once the map was emptied.
TEST_F(Events, EventsCarryTheIdentitiesOfTheirWorkloads) {
  dp.set_identities(
      {{address("10.3.0.1"), 256}, {address("10.4.0.1"), 300}, {address("fd00:3::1"), 256}});
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.1", "10.4.0.1").tcp(40001, 80, kSyn).build()), kOk);
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.9", "10.4.0.1").tcp(40002, 445, kSyn).build()),
            kShot);
  ASSERT_EQ(ingress(PacketBuilder::ipv6("fd00:3::1", "fd00:4::1").tcp(40003, 80, kSyn).build()),
            kOk);
  auto got = take();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].src_identity, 256u);
  EXPECT_EQ(got[0].dst_identity, 300u);
  EXPECT_EQ(got[1].type, SLUICE_EVENT_DROP);
  EXPECT_EQ(got[1].src_identity, SLUICE_IDENTITY_NONE) << "10.3.0.9 is no workload's";
  EXPECT_EQ(got[1].dst_identity, 300u) << "drops name their workloads too";
  EXPECT_EQ(got[2].src_identity, 256u) << "IPv6";
  EXPECT_EQ(got[2].dst_identity, SLUICE_IDENTITY_NONE);

  dp.set_identities({});
  ASSERT_EQ(ingress(PacketBuilder::ipv4("10.3.0.1", "10.4.0.1").tcp(40004, 80, kSyn).build()), kOk);
  got = take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].src_identity, SLUICE_IDENTITY_NONE) << "the workload went: so did its entry";
}

}  // namespace
}  // namespace sluice::testkit
