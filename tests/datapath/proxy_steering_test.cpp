// Steering to the L7 proxy (bpf/lib/proxy.h): a flow an L7 rule accepts
// goes to the rule's listener, every later packet of it too, and with no
// listener it is dropped (fail closed), never forwarded.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "datapath/bpf_error.h"
#include "datapath/fixture.h"
#include "policy/proxy_slots.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK, kShot = TC_ACT_SHOT;

const char* kRuleset = R"(
[chains]
forward = "drop"

[[rule]]
name = "ssh"
chain = "forward"
proto = "tcp"
port = 22
action = "accept"

[[rule]]
name = "api"
chain = "forward"
proto = "tcp"
port = 80
action = "accept"
http = [{ method = "GET", path = "/api/v1/.*" }]
)";

// A listener like the one sluiced gives the proxy: transparent, so that
// it may take connections to addresses that are not this host's.
int transparent_listener() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class ProxySteering : public DatapathTest {
 protected:
  std::uint16_t slot = 0;
  void SetUp() override {
    DatapathTest::SetUp();
    auto cfg = parse_or_die(kRuleset);
    slot = policy::assign_proxy_slots(cfg, {}).at("api");
    dp.apply(policy::compile(cfg));
  }
  void TearDown() override {
    dp.remove_proxy_listener(slot, config::Family::V4);
    DatapathTest::TearDown();
  }
  std::vector<std::uint8_t> to_api(std::uint8_t flags) {
    return PacketBuilder::ipv4("10.3.0.1", "10.4.0.1").tcp(40000, 80, flags).build();
  }
};

TEST_F(ProxySteering, WithoutAProxyTheFlowIsDroppedAndNotTracked) {
  auto before = drops(SLUICE_DROP_PROXY_UNAVAILABLE);
  EXPECT_EQ(ingress(to_api(kSyn)), kShot);
  EXPECT_EQ(drops(SLUICE_DROP_PROXY_UNAVAILABLE), before + 1);
  EXPECT_TRUE(dp.conntrack().empty());
  // A rule without http is not affected.
  EXPECT_EQ(ingress(PacketBuilder::ipv4("10.3.0.1", "10.4.0.1").tcp(40001, 22, kSyn).build()), kOk);
}

// BPF_PROG_TEST_RUN cannot hand a packet to a socket (bpf_sk_assign needs
// a real tc ingress): the assignment itself is tested with real traffic
// (tests/integration/l7_*). Here: what happens around it.
TEST_F(ProxySteering, TheListenerLeavesTheMapWhenItsSocketCloses) {
  int listener = transparent_listener();
  ASSERT_GE(listener, 0);
  dp.set_proxy_listener(slot, config::Family::V4, listener);
  std::uint32_t key = slot;
  std::uint64_t cookie = 0;
  EXPECT_EQ(bpf_map_lookup_elem(dp.proxy_listeners_fd(), &key, &cookie), 0);
  EXPECT_NE(cookie, 0u);
  close(listener);
  EXPECT_NE(bpf_map_lookup_elem(dp.proxy_listeners_fd(), &key, &cookie), 0);
  // A socket that is not listening is refused.
  int plain = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_THROW(dp.set_proxy_listener(slot, config::Family::V4, plain), datapath::BpfError);
  close(plain);
}

TEST_F(ProxySteering, ATrackedFlowOfTheProxyIsDroppedOnceThereIsNoProxy) {
  // The flow as a proxied SYN left it, its proxy since gone.
  sluice_ct_key key{};
  sluice_ct_entry entry{};
  key.family = SLUICE_FAMILY_IPV4;
  key.proto = IPPROTO_TCP;
  std::uint8_t client[4] = {10, 3, 0, 1}, server[4] = {10, 4, 0, 1};
  std::memcpy(key.addr_a, client, 4);
  std::memcpy(key.addr_b, server, 4);
  key.port_a = htons(40000);
  key.port_b = htons(80);
  entry.originator_is_a = 1;
  entry.state = SLUICE_CT_SYN_SENT;
  entry.chain = SLUICE_CHAIN_FORWARD;
  entry.rule_index = 1;
  entry.proxied = 1;
  entry.proxy_slot = slot;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  entry.created_ns = entry.last_seen_ns = now.tv_sec * 1000000000ull + now.tv_nsec;
  ASSERT_EQ(bpf_map_update_elem(dp.conntrack_tables().for_key(key), &key, &entry, BPF_NOEXIST), 0);
  auto before = drops(SLUICE_DROP_PROXY_UNAVAILABLE);
  EXPECT_EQ(ingress(to_api(kAck)), kShot);
  EXPECT_EQ(drops(SLUICE_DROP_PROXY_UNAVAILABLE), before + 1);
  // Seen from its client's side, the flow is open: the proxy's SYN-ACK
  // never passes tc ingress, so the client's ACK says so.
  EXPECT_EQ(dp.conntrack().at(0).value.state, SLUICE_CT_ESTABLISHED);
}

TEST_F(ProxySteering, AnL7RuleWithoutASlotDropsRatherThanForwards) {
  // Compiled without assign_proxy_slots (slot 0): no listener can match.
  int listener = transparent_listener();
  ASSERT_GE(listener, 0);
  dp.set_proxy_listener(slot, config::Family::V4, listener);
  dp.apply(policy::compile(parse_or_die(kRuleset)));
  EXPECT_EQ(ingress(to_api(kSyn)), kShot);
  close(listener);
}

}  // namespace
}  // namespace sluice::testkit
