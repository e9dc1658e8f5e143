// The flow log's pure parts: filter terms, matching (translated flows by
// either address), the in-memory ring and the event decoder's naming.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "flows/event_decoder.h"
#include "flows/flow_filter.h"
#include "flows/flow_json.h"
#include "flows/flow_ring.h"
#include "sluice/abi.h"

namespace sluice::flows {
namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

FlowRecord flow(std::string src, std::uint16_t sport, std::string dst, std::uint16_t dport,
                Verdict v = Verdict::Allowed, std::string rule = "web") {
  FlowRecord r;
  r.src = std::move(src);
  r.sport = sport;
  r.dst = std::move(dst);
  r.dport = dport;
  r.verdict = v;
  r.rule = std::move(rule);
  r.time_ms = kNow;
  return r;
}

FlowFilter filter(std::initializer_list<std::pair<const char*, const char*>> terms) {
  FlowFilter f;
  for (const auto& [k, v] : terms) {
    auto err = set_filter_term(f, k, v, kNow);
    EXPECT_EQ(err, "") << k << "=" << v;
  }
  return f;
}

TEST(FlowFilter, BadTermsSayWhatIsWrong) {
  struct Case {
    const char* key;
    const char* value;
    const char* expect;
  } cases[] = {
      {"from", "10.0.0", "from: '10.0.0' is not an IPv4 or IPv6 address"},
      {"to", "", "to: '' is not an IPv4 or IPv6 address"},
      {"port", "0", "port: '0' is not a port (1-65535)"},
      {"port", "65536", "port: '65536' is not a port (1-65535)"},
      {"port", "80x", "port: '80x' is not a port (1-65535)"},
      {"verdict", "denied",
       "verdict: 'denied' is not one of allowed, dropped, rejected, audit, translated, closed"},
      {"since", "yesterday",
       "since: 'yesterday' is neither seconds since the epoch nor a duration like 15m, 2h, 7d"},
      {"since", "-5m",
       "since: '-5m' is neither seconds since the epoch nor a duration like 15m, 2h, 7d"},
      // found by fuzz.request: epoch seconds whose milliseconds overflow
      {"since", "0001664882416446009070",
       "since: '0001664882416446009070' is neither seconds since the epoch nor a duration like "
       "15m, 2h, 7d"},
      {"l7", "maybe", "l7: 'maybe' is not one of yes, no, http, websocket, tls, http2, tcp"},
      {"colour", "red",
       "unknown filter 'colour' (from, to, address, port, verdict, rule, since, until, l7)"},
  };
  for (const auto& c : cases) {
    FlowFilter f;
    EXPECT_EQ(set_filter_term(f, c.key, c.value, kNow), c.expect);
  }
}

TEST(FlowFilter, EveryTermMustMatch) {
  auto r = flow("10.0.0.1", 40000, "192.0.2.9", 443, Verdict::Dropped, "no-https");
  EXPECT_TRUE(filter({}).matches(r));
  EXPECT_TRUE(filter({{"from", "10.0.0.1"}, {"port", "443"}, {"verdict", "dropped"}}).matches(r));
  EXPECT_TRUE(filter({{"address", "192.0.2.9"}, {"rule", "no-https"}}).matches(r));
  EXPECT_FALSE(filter({{"from", "192.0.2.9"}}).matches(r)) << "from is the source only";
  EXPECT_FALSE(filter({{"from", "10.0.0.1"}, {"verdict", "allowed"}}).matches(r));
  EXPECT_FALSE(filter({{"port", "80"}}).matches(r));
  EXPECT_FALSE(filter({{"rule", "web"}}).matches(r));
}

TEST(FlowFilter, TranslatedFlowsMatchByTheirOutsideAddressToo) {
  auto r = flow("10.0.0.1", 40000, "192.0.2.9", 80);
  r.nat = "masquerade";
  r.nat_addr = "198.51.100.1";
  r.nat_port = 1500;
  EXPECT_TRUE(filter({{"from", "198.51.100.1"}}).matches(r));
  EXPECT_TRUE(filter({{"port", "1500"}}).matches(r));
  EXPECT_FALSE(filter({{"to", "198.51.100.1"}}).matches(r));
  r.nat = "port-forward";
  EXPECT_TRUE(filter({{"to", "198.51.100.1"}}).matches(r));
}

TEST(FlowFilter, SinceTakesDurationsAndEpochSeconds) {
  auto r = flow("10.0.0.1", 1, "10.0.0.2", 2);
  r.time_ms = kNow - 10 * 60 * 1000;  // ten minutes ago
  EXPECT_TRUE(filter({{"since", "15m"}}).matches(r));
  EXPECT_FALSE(filter({{"since", "5m"}}).matches(r));
  EXPECT_TRUE(filter({{"since", "1h"}, {"until", "5m"}}).matches(r));
  EXPECT_FALSE(filter({{"until", "15m"}}).matches(r));
  EXPECT_TRUE(filter({{"since", std::to_string(kNow / 1000 - 3600).c_str()}}).matches(r));
}

TEST(FlowRing, KeepsTheNewestAndNumbersThemInOrder) {
  FlowRing ring(3);
  for (int i = 0; i < 5; ++i)
    ring.add(flow("10.0.0.1", static_cast<std::uint16_t>(i), "10.0.0.2", 80));
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring.last_id(), 5u);
  auto all = ring.query({}, 0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, 3u);
  EXPECT_EQ(all[2].id, 5u);
  EXPECT_EQ(all[2].sport, 4);
  auto after = ring.query({}, 4, 100);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, 5u);
}

TEST(FlowRing, LimitTakesTheOldestOrTheNewestMatches) {
  FlowRing ring(100);
  for (int i = 0; i < 10; ++i)
    ring.add(flow("10.0.0.1", static_cast<std::uint16_t>(i), "10.0.0.2", i % 2 ? 80 : 443));
  auto oldest = ring.query(filter({{"port", "80"}}), 0, 2);
  ASSERT_EQ(oldest.size(), 2u);
  EXPECT_EQ(oldest[0].sport, 1);
  EXPECT_EQ(oldest[1].sport, 3);
  auto newest = ring.query(filter({{"port", "80"}}), 0, 2, /*newest_first=*/true);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].sport, 7) << "returned oldest first";
  EXPECT_EQ(newest[1].sport, 9);
}

TEST(FlowRing, AWaiterWakesForANewRecordOrClose) {
  FlowRing ring(10);
  ring.add(flow("10.0.0.1", 1, "10.0.0.2", 2));
  EXPECT_EQ(ring.wait_after(0, std::chrono::milliseconds(0)), 1u) << "already there: no wait";
  std::thread writer([&] { ring.add(flow("10.0.0.1", 2, "10.0.0.2", 2)); });
  EXPECT_EQ(ring.wait_after(1, std::chrono::hours(1)), 2u);
  writer.join();
  std::thread closer([&] { ring.close(); });
  EXPECT_EQ(ring.wait_after(2, std::chrono::hours(1)), 2u);
  EXPECT_TRUE(ring.closed());
  closer.join();
}

sluice_event event(std::uint8_t type, std::uint32_t rule_index, std::uint8_t generation) {
  sluice_event e{};
  e.type = type;
  e.rule_index = rule_index;
  e.generation = generation;
  e.family = SLUICE_FAMILY_IPV4;
  e.proto = 6;
  e.chain = SLUICE_CHAIN_FORWARD;
  e.ifindex = 1;  // lo
  std::uint8_t src[] = {10, 0, 0, 1}, dst[] = {192, 0, 2, 9};
  std::copy(std::begin(src), std::end(src), e.src);
  std::copy(std::begin(dst), std::end(dst), e.dst);
  e.sport = htons(40000);
  e.dport = htons(443);
  return e;
}

// The one record an event stands for.
FlowRecord decode(EventDecoder& d, const sluice_event& e) {
  std::vector<FlowRecord> out;
  d.decode(e, out);
  EXPECT_EQ(out.size(), 1u);
  return out.empty() ? FlowRecord{} : out.front();
}

TEST(EventDecoder, NamesTheRuleOfTheGenerationThatDecided) {
  EventDecoder d;
  d.set_rules(0,
              std::make_shared<RuleTable>(RuleTable{"/etc/sluice/sluice.toml", {{"old-web", 10}}}));
  d.set_rules(1,
              std::make_shared<RuleTable>(RuleTable{"/etc/sluice/sluice.toml", {{"new-web", 20}}}));
  auto old_one = decode(d, event(SLUICE_EVENT_NEW_FLOW, 0, 0));
  EXPECT_EQ(old_one.rule, "old-web");
  EXPECT_EQ(old_one.rule_line, 10u);
  auto new_one = decode(d, event(SLUICE_EVENT_NEW_FLOW, 0, 1));
  EXPECT_EQ(new_one.rule, "new-web");
  EXPECT_EQ(new_one.config_file, "/etc/sluice/sluice.toml");
  EXPECT_EQ(new_one.verdict, Verdict::Allowed);
  EXPECT_EQ(new_one.chain, "forward");
  EXPECT_EQ(new_one.interface, "lo");
  EXPECT_EQ(new_one.src, "10.0.0.1");
  EXPECT_EQ(new_one.dst, "192.0.2.9");
  EXPECT_EQ(new_one.sport, 40000);
  EXPECT_EQ(new_one.dport, 443);
  EXPECT_EQ(new_one.proto, "tcp");
  EXPECT_EQ(decode(d, event(SLUICE_EVENT_NEW_FLOW, 5, 1)).rule, "#5")
      << "unknown index shown as such";
}

TEST(EventDecoder, KnowsWhichRulesAreLogged) {
  EventDecoder d;
  d.set_rules(
      0, std::make_shared<RuleTable>(RuleTable{"f", {{"quiet", 1, false}, {"loud", 9, true}}}));
  EXPECT_FALSE(d.logged(event(SLUICE_EVENT_DROP, 0, 0)));
  EXPECT_TRUE(d.logged(event(SLUICE_EVENT_DROP, 1, 0)));
  EXPECT_FALSE(d.logged(event(SLUICE_EVENT_DROP, SLUICE_RULE_INDEX_DEFAULT, 0)));
  EXPECT_FALSE(d.logged(event(SLUICE_EVENT_DROP, 1, 1))) << "generation 1 has no rules loaded";
  auto before_policy = event(SLUICE_EVENT_DROP, 1, 0);
  before_policy.chain = SLUICE_EVENT_NO_CHAIN;
  EXPECT_FALSE(d.logged(before_policy));
}

TEST(EventDecoder, DropsCarryReasonAndDefault) {
  EventDecoder d;
  auto e = event(SLUICE_EVENT_DROP, SLUICE_RULE_INDEX_DEFAULT, 0);
  e.reason = SLUICE_DROP_POLICY_DEFAULT;
  auto r = decode(d, e);
  EXPECT_EQ(r.verdict, Verdict::Dropped);
  EXPECT_EQ(r.rule, "default");
  EXPECT_EQ(r.reason, "policy-default");
  auto before = event(SLUICE_EVENT_DROP, SLUICE_RULE_INDEX_DEFAULT, 0);
  before.chain = SLUICE_EVENT_NO_CHAIN;
  before.reason = SLUICE_DROP_CT_INVALID;
  auto r2 = decode(d, before);
  EXPECT_EQ(r2.chain, "");
  EXPECT_EQ(r2.rule, "") << "no rule decided a drop before policy";
  EXPECT_EQ(r2.reason, "ct-invalid");
}

TEST(EventDecoder, TranslationsShowTheOtherAddress) {
  EventDecoder d;
  auto e = event(SLUICE_EVENT_NAT, SLUICE_RULE_INDEX_DEFAULT, 0);
  e.nat = SLUICE_NAT_SNAT;
  std::uint8_t pub[] = {198, 51, 100, 1};
  std::copy(std::begin(pub), std::end(pub), e.nat_addr);
  e.nat_port = htons(1500);
  auto r = decode(d, e);
  EXPECT_EQ(r.verdict, Verdict::Translated);
  EXPECT_EQ(r.nat, "masquerade");
  EXPECT_EQ(r.nat_addr, "198.51.100.1");
  EXPECT_EQ(r.nat_port, 1500);
  EXPECT_EQ(r.rule, "");
}

// The fast path reports a new flow and its masquerade in one event; the
// records must be those of tc's two events (the flow on the way in, the
// translation on the way out).
TEST(EventDecoder, AFastPathMasqueradedFlowGivesTheRecordsOfTcsTwoEvents) {
  EventDecoder d;
  d.set_rules(1, std::make_shared<RuleTable>(RuleTable{"f", {{"lan", 3}}}));
  std::uint8_t pub[] = {198, 51, 100, 1};

  auto tc_flow = event(SLUICE_EVENT_NEW_FLOW, 0, 1);
  auto tc_nat = event(SLUICE_EVENT_NAT, SLUICE_RULE_INDEX_DEFAULT, 0);
  tc_nat.nat = SLUICE_NAT_SNAT;
  tc_nat.nat_port = htons(1500);
  std::copy(std::begin(pub), std::end(pub), tc_nat.nat_addr);
  tc_nat.ifindex = 0x7fff;  // no such interface: shown by number
  std::vector<FlowRecord> from_tc;
  d.decode(tc_flow, from_tc);
  d.decode(tc_nat, from_tc);

  auto fast = event(SLUICE_EVENT_NEW_FLOW, 0, 1);
  fast.nat = SLUICE_NAT_SNAT;
  fast.nat_port = htons(1500);
  std::copy(std::begin(pub), std::end(pub), fast.nat_addr);
  fast.out_ifindex = 0x7fff;
  std::vector<FlowRecord> from_xdp;
  d.decode(fast, from_xdp);

  ASSERT_EQ(from_xdp.size(), 2u);
  ASSERT_EQ(from_tc.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(to_json(from_xdp[i]).dump(), to_json(from_tc[i]).dump()) << "record " << i;
  }
  EXPECT_EQ(from_xdp[0].verdict, Verdict::Allowed);
  EXPECT_EQ(from_xdp[0].rule, "lan");
  EXPECT_EQ(from_xdp[0].nat, "");
  EXPECT_EQ(from_xdp[1].verdict, Verdict::Translated);
  EXPECT_EQ(from_xdp[1].interface, "if32767");
  EXPECT_EQ(from_xdp[1].nat_addr, "198.51.100.1");
  EXPECT_EQ(from_xdp[1].nat_port, 1500);
}

TEST(EventDecoder, AddressesReadAsInetNtopWritesThem) {
  auto expect_same = [](std::uint32_t v4) {
    std::uint8_t a[16] = {};
    std::uint32_t n = htonl(v4);
    std::memcpy(a, &n, 4);
    char want[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, a, want, sizeof want);
    EXPECT_EQ(address_text(a, SLUICE_FAMILY_IPV4), want);
  };
  for (std::uint32_t v : {0u, 0xffffffffu, 0x0a000001u, 0x64096405u, 0xc0000209u, 0x01020304u})
    expect_same(v);
  for (std::uint32_t v = 0; v < 256; ++v) expect_same(v * 0x01010101u);
  std::uint32_t x = 2463534242u;  // xorshift: a spread of addresses
  for (int i = 0; i < 10000; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    expect_same(x);
  }
  std::uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(address_text(v6, SLUICE_FAMILY_IPV6), "2001:db8::1");
}

TEST(EventDecoder, ConntrackExpiresAsTheDatapathSays) {
  sluice_ct_key tcp{};
  tcp.proto = 6;
  sluice_ct_entry e{};
  e.last_seen_ns = 1'000'000'000'000ull;
  constexpr std::uint64_t kSecond = 1'000'000'000ull;
  e.state = SLUICE_CT_CLOSED;
  EXPECT_FALSE(conntrack_expired(tcp, e, e.last_seen_ns + SLUICE_CT_TIMEOUT_TCP_CLOSED * kSecond));
  EXPECT_TRUE(
      conntrack_expired(tcp, e, e.last_seen_ns + SLUICE_CT_TIMEOUT_TCP_CLOSED * kSecond + 1));
  e.state = SLUICE_CT_ESTABLISHED;
  EXPECT_FALSE(conntrack_expired(tcp, e, e.last_seen_ns + 3600 * kSecond));
  sluice_ct_key udp{};
  udp.proto = 17;
  e.state = SLUICE_CT_NEW;
  EXPECT_TRUE(
      conntrack_expired(udp, e, e.last_seen_ns + (SLUICE_CT_TIMEOUT_UDP_NEW + 1) * kSecond));
  e.state = SLUICE_CT_ESTABLISHED;
  EXPECT_FALSE(
      conntrack_expired(udp, e, e.last_seen_ns + (SLUICE_CT_TIMEOUT_UDP_NEW + 1) * kSecond));
  EXPECT_FALSE(conntrack_expired(udp, e, e.last_seen_ns - kSecond))
      << "a clock read before the last packet";
}

TEST(EventDecoder, AClosedFlowIsShownFromItsOriginator) {
  EventDecoder d;
  d.set_rules(1, std::make_shared<RuleTable>(RuleTable{"/etc/sluice/sluice.toml", {{"web", 12}}}));
  sluice_ct_key k{};
  k.family = SLUICE_FAMILY_IPV4;
  k.proto = 6;
  std::uint8_t a[] = {10, 0, 0, 1}, b[] = {192, 0, 2, 9};
  std::copy(std::begin(a), std::end(a), k.addr_a);
  std::copy(std::begin(b), std::end(b), k.addr_b);
  k.port_a = htons(80);
  k.port_b = htons(40000);
  sluice_ct_entry v{};
  v.originator_is_a = 0;  // 192.0.2.9:40000 opened it
  v.rule_index = 0;
  v.chain = SLUICE_CHAIN_INPUT;
  v.in_ifindex = 1;
  v.created_ns = 5'000'000'000ull;
  v.last_seen_ns = 7'500'000'000ull;
  v.packets[0] = 10;
  v.packets[1] = 8;
  v.bytes[0] = 1000;
  v.bytes[1] = 80000;
  auto r = d.closed(k, v, 1);
  EXPECT_EQ(r.verdict, Verdict::Closed);
  EXPECT_EQ(r.src, "192.0.2.9");
  EXPECT_EQ(r.sport, 40000);
  EXPECT_EQ(r.dst, "10.0.0.1");
  EXPECT_EQ(r.dport, 80);
  EXPECT_EQ(r.rule, "web");
  EXPECT_EQ(r.chain, "input");
  EXPECT_EQ(r.packets[1], 8u);
  EXPECT_EQ(r.bytes[1], 80000u);
  EXPECT_EQ(r.duration_ms, 2500u);
  EXPECT_EQ(d.closed(k, v, -1).rule, "#0") << "a rule of a ruleset no longer loaded";
}

}  // namespace
}  // namespace sluice::flows
