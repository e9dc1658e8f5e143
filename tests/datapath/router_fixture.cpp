#include "datapath/router_fixture.h"

#include <linux/bpf.h>

#include <cstring>

#include "config/address.h"
#include "policy/nat_tables.h"

namespace sluice::testkit {
namespace {

const char* kRouterRuleset = R"(
[[interface]]
name = "lan0"
zone = "lan"
addresses = ["10.10.1.1/24", "fd00:10:1::1/64"]

[[interface]]
name = "wan0"
addresses = ["192.0.2.1/24", "2001:db8:2::1/64"]

[zones.lan]
networks = ["10.10.1.0/24", "fd00:10:1::/64"]

[router]
forwarding = true
fast_path = "on"

[chains]
input = "accept"
forward = "drop"
output = "accept"

[[rule]]
name = "lan-out"
chain = "forward"
from = "zone:lan"
action = "accept"

[[rule]]
name = "web-in"
chain = "forward"
to = "10.10.1.10"
proto = "tcp"
port = 80
action = "accept"

[[rule]]
name = "udp-in"
chain = "forward"
to = "10.10.1.10"
proto = "udp"
port = 5353
action = "accept"

[[nat]]
masquerade = { out_interface = "wan0", from = "10.10.1.0/24" }

[[nat]]
port_forward = { in_interface = "wan0", proto = "tcp", port = 8080, to = "10.10.1.10", to_port = 80 }

[[nat]]
port_forward = { in_interface = "wan0", proto = "udp", port = 5353, to = "10.10.1.10" }
)";

config::Prefix prefix(const std::string& text) {
  auto p = config::parse_interface_address(text);
  if (!p.prefix) throw std::runtime_error(p.error);
  return *p.prefix;
}

std::string hex(const Frame& f) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (i && i % 16 == 0) s += '\n';
    s += digits[f[i] >> 4];
    s += digits[f[i] & 15];
    s += ' ';
  }
  return s;
}

}  // namespace

std::unique_ptr<LabNetns> RouterTest::lab_;

Frame bare_tcp4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
                std::uint8_t flags) {
  return PacketBuilder::ipv4(src, dst).tcp(sport, dport, flags).build();
}

Frame with_macs(Frame f, const Mac& dst, const Mac& src) {
  std::memcpy(f.data(), dst.data(), 6);
  std::memcpy(f.data() + 6, src.data(), 6);
  return f;
}

void RouterTest::SetUpTestSuite() { lab_ = std::make_unique<LabNetns>(); }
void RouterTest::TearDownTestSuite() { lab_.reset(); }

void RouterTest::SetUp() {
  DatapathTest::SetUp();
  auto cfg = apply(kRouterRuleset);
  std::vector<policy::InterfaceState> interfaces = {
      {"lan0", lab_->ifindex("lan0"), {prefix("10.10.1.1/24"), prefix("fd00:10:1::1/64")}},
      {"wan0", lab_->ifindex("wan0"), {prefix("192.0.2.1/24"), prefix("2001:db8:2::1/64")}},
  };
  std::vector<datapath::LocalAddress> local;
  for (const auto& i : interfaces)
    for (const auto& a : i.addresses) local.push_back({a.family, a.addr, i.ifindex, a.length});
  dp.set_local_addresses(local);
  dp.set_nat(policy::compile_nat(cfg, interfaces));
  dp.set_fast_path_interfaces({interfaces[0].ifindex, interfaces[1].ifindex});
}

void RouterTest::TearDown() {
  dp.set_fast_path_interfaces({});
  dp.set_nat({});
  DatapathTest::TearDown();
}

datapath::TestRunResult RouterTest::run_one(Hook hook, const std::string& interface,
                                            const Frame& in) {
  int fd = hook == Hook::Xdp         ? dp.xdp_ingress_fd()
           : hook == Hook::TcIngress ? dp.tc_ingress_fd()
                                     : dp.tc_egress_fd();
  return datapath::test_run_on(fd,
                               hook == Hook::Xdp ? datapath::TestHook::Xdp : datapath::TestHook::Tc,
                               lab_->ifindex(interface), in);
}

void RouterTest::run(const std::vector<Row>& table) {
  for (const auto& row : table) {
    SCOPED_TRACE(row.what);
    auto got = run_one(row.hook, row.interface, row.in);
    ASSERT_EQ(got.retval, row.verdict) << "verdict of: " << row.what;
    if (row.check) {
      row.check(got.packet);
    } else {
      const Frame& want = row.out.empty() ? row.in : row.out;
      ASSERT_EQ(got.packet, want) << "frame of: " << row.what << "\n got:\n"
                                  << hex(got.packet) << "\n want:\n"
                                  << hex(want);
    }
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace sluice::testkit
