// Rules naming interfaces, through the loaded programs on the lab's lan0
// and wan0: in_interface / out_interface and zones of interfaces, in tc
// (the forward chain asks the routing table where a packet will leave)
// and in the XDP fast path (which knows from its own route lookup).
#include <linux/bpf.h>

#include "datapath/router_fixture.h"

namespace sluice::testkit {
namespace {

constexpr std::uint32_t kOk = TC_ACT_OK, kShot = TC_ACT_SHOT;
constexpr std::uint32_t kRedirect = XDP_REDIRECT, kPass = XDP_PASS;

const char* kInterfaceRules = R"(
[[interface]]
name = "lan0"
zone = "lan"

[[interface]]
name = "wan0"
zone = "wan"

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "lan-to-wan"
chain = "forward"
from = "zone:lan"
to = "zone:wan"
action = "accept"

[[rule]]
name = "ssh-on-lan0"
chain = "input"
in_interface = "lan0"
proto = "tcp"
port = 22
action = "accept"

[[rule]]
name = "nothing-out-of-wan0-to-5000"
chain = "output"
out_interface = "wan0"
proto = "tcp"
port = 5000
action = "drop"
)";

Frame syn4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport) {
  return PacketBuilder::ipv4(src, dst).tcp(sport, dport, kSyn).build();
}

class Interfaces : public RouterTest {
 protected:
  void SetUp() override {
    RouterTest::SetUp();
    apply(kInterfaceRules);
  }
  std::uint64_t counted(std::uint32_t rule) { return dp.rule_counter(rule).packets; }
  std::uint64_t defaulted(config::Chain chain) { return dp.default_counter(chain).packets; }
};

TEST_F(Interfaces, TheForwardChainMatchesTheInterfaceInAndTheRoutedInterfaceOut) {
  auto allowed = counted(0);
  auto dropped = defaulted(config::Chain::Forward);
  run({
      {"lan host to the wan server, in on lan0, routed out of wan0: lan-to-wan", Hook::TcIngress,
       "lan0", syn4("10.10.1.10", 30001, "192.0.2.2", 9000), kOk},
      {"the same addresses arriving on wan0: not from zone lan, dropped", Hook::TcIngress, "wan0",
       syn4("10.10.1.10", 30002, "192.0.2.2", 9000), kShot},
      {"lan host to another lan host: routed out of lan0, not to zone wan", Hook::TcIngress, "lan0",
       syn4("10.10.1.10", 30003, "10.10.1.11", 9000), kShot},
      {"to a network behind the wan gateway: routed out of wan0", Hook::TcIngress, "lan0",
       syn4("10.10.1.10", 30004, "203.0.113.9", 9000), kOk},
  });
  EXPECT_EQ(counted(0), allowed + 2);
  EXPECT_EQ(defaulted(config::Chain::Forward), dropped + 2);
}

TEST_F(Interfaces, TheFastPathDecidesNewFlowsByTheSameInterfaces) {
  auto allowed = counted(0);
  run({
      {"a new flow in on lan0 and out of wan0: forwarded by XDP",
       Hook::Xdp,
       "lan0",
       PacketBuilder::ipv4("10.10.1.10", "203.0.113.5").udp(30011, 53).build(),
       kRedirect,
       {},
       [](const Frame&) {}},
      {"the same addresses in on wan0: not the fast path's to forward", Hook::Xdp, "wan0",
       PacketBuilder::ipv4("10.10.1.10", "203.0.113.5").udp(30012, 53).build(), kPass},
      {"and tc drops it", Hook::TcIngress, "wan0",
       PacketBuilder::ipv4("10.10.1.10", "203.0.113.5").udp(30012, 53).build(), kShot},
  });
  EXPECT_EQ(counted(0), allowed + 1);
}

TEST_F(Interfaces, InputAndOutputChainsMatchTheirOneInterface) {
  auto ssh = counted(1), out_drops = counted(2);
  run({
      {"ssh to the router's lan address, in on lan0", Hook::TcIngress, "lan0",
       syn4("10.10.1.10", 30021, "10.10.1.1", 22), kOk},
      {"ssh to the router's wan address, in on wan0: input default drop", Hook::TcIngress, "wan0",
       syn4("192.0.2.2", 30022, "192.0.2.1", 22), kShot},
      {"the router's own connection out of wan0 to port 5000: dropped", Hook::TcEgress, "wan0",
       syn4("192.0.2.1", 30023, "192.0.2.2", 5000), kShot},
      {"the same out of lan0: output default accept", Hook::TcEgress, "lan0",
       syn4("10.10.1.1", 30024, "10.10.1.10", 5000), kOk},
  });
  EXPECT_EQ(counted(1), ssh + 1);
  EXPECT_EQ(counted(2), out_drops + 1);
}

}  // namespace
}  // namespace sluice::testkit

namespace sluice::testkit {
namespace {

// An interface that appears after the apply (a hotplugged NIC, a tunnel
// made anew) is found by rules naming it once the interfaces are refreshed.
TEST_F(Interfaces, AnInterfaceMadeAfterTheApplyIsFoundOnceRefreshed) {
  apply(R"(
[[interface]]
name = "late0"
[[interface]]
name = "wan0"
[chains]
forward = "drop"
[[rule]]
name = "from-late0"
chain = "forward"
in_interface = "late0"
action = "accept"
)");
  ASSERT_EQ(std::system("ip link add late0 type veth peer name late1 && ip link set late0 up && "
                        "ip link set late1 up"),
            0);
  auto frame = syn4("10.30.0.2", 30031, "192.0.2.2", 9000);
  auto before = run_one(Hook::TcIngress, "late0", frame);
  dp.refresh_interface_ids();
  auto after = run_one(Hook::TcIngress, "late0", frame);
  std::system("ip link del late0");
  EXPECT_EQ(before.retval, kShot) << "its ifindex was not known at the apply";
  EXPECT_EQ(after.retval, kOk) << "known once refreshed";
}

}  // namespace
}  // namespace sluice::testkit
