// The NAT part of the config as map entries: which interface address
// masquerade uses, which sources it covers, where port forwards match.
#include "policy/nat_tables.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "config/parser.h"

namespace {

using namespace sluice;

config::Prefix addr(const char* text) {
  auto p = config::parse_interface_address(text);
  EXPECT_TRUE(p.prefix) << text;
  return *p.prefix;
}

std::string text(std::uint8_t family, const std::uint8_t* a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SLUICE_FAMILY_IPV4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return buf;
}

config::Config parse(const char* toml) {
  auto r = config::parse_string(toml, "t.toml");
  EXPECT_TRUE(r.config) << config::format(r.diagnostics);
  return *r.config;
}

const char* kConfig = R"(
[[interface]]
name = "lan0"
[[interface]]
name = "wan0"
[[interface]]
name = "wan1"

[[nat]]
masquerade = { out_interface = "wan0", from = ["10.1.0.0/16", "fd00::/64"] }
[[nat]]
masquerade = { out_interface = "wan1" }
[[nat]]
port_forward = { in_interface = "wan0", proto = "tcp", port = 80, to = "10.1.0.10", to_port = 8080 }
[[nat]]
port_forward = { in_interface = "wan1", proto = "udp", port = 53, to = "10.1.0.11" }
)";

TEST(NatTables, MasqueradeUsesTheFirstAddressThatIsNotLinkLocal) {
  auto cfg = parse(kConfig);
  std::vector<policy::InterfaceState> itfs = {
      {"lan0", 2, {addr("10.1.0.1/16")}},
      {"wan0",
       3,
       {addr("fe80::1/64"), addr("169.254.1.1/16"), addr("192.0.2.1/24"), addr("2001:db8::1/64"),
        addr("192.0.2.9/24")}},
  };
  auto t = policy::compile_nat(cfg, itfs);
  std::vector<std::string> got;
  for (const auto& [k, v] : t.iface_addrs)
    got.push_back(std::to_string(k.ifindex) + " " + text(k.family, v.addr));
  // Every present interface has one per family (hairpin needs the inside
  // ones too); link-local addresses are skipped; wan1 is absent.
  EXPECT_EQ(got, (std::vector<std::string>{"2 10.1.0.1", "3 192.0.2.1", "3 2001:db8::1"}));
}

TEST(NatTables, MasqueradeSourcesAreKeyedByInterface) {
  auto cfg = parse(kConfig);
  std::vector<policy::InterfaceState> itfs = {{"wan0", 3, {addr("192.0.2.1/24")}},
                                              {"wan1", 4, {addr("198.51.100.1/24")}}};
  auto t = policy::compile_nat(cfg, itfs);
  std::vector<std::string> got;
  for (const auto& k : t.masq_sources)
    got.push_back(std::to_string(k.ifindex) + " " + text(k.family, k.addr) + "/" +
                  std::to_string(k.prefixlen - SLUICE_MASQ_KEY_FIXED_BITS));
  // wan1 masquerades everything: a /0 for each family.
  EXPECT_EQ(got,
            (std::vector<std::string>{"3 10.1.0.0/16", "3 fd00::/64", "4 0.0.0.0/0", "4 ::/0"}));
}

TEST(NatTables, PortForwardsMatchEveryAddressOfTheirInterfaceOfTheSameFamily) {
  auto cfg = parse(kConfig);
  std::vector<policy::InterfaceState> itfs = {
      {"wan0", 3, {addr("192.0.2.1/24"), addr("192.0.2.2/24"), addr("2001:db8::1/64")}}};
  auto t = policy::compile_nat(cfg, itfs);
  ASSERT_EQ(t.port_forwards.size(), 2u);  // wan1 is absent: its forward waits
  for (const auto& [k, v] : t.port_forwards) {
    EXPECT_EQ(k.family, SLUICE_FAMILY_IPV4);
    EXPECT_EQ(k.proto, 6);
    EXPECT_EQ(ntohs(k.port), 80);
    EXPECT_EQ(text(SLUICE_FAMILY_IPV4, v.addr), "10.1.0.10");
    EXPECT_EQ(ntohs(v.port), 8080);
  }
  EXPECT_EQ(text(SLUICE_FAMILY_IPV4, t.port_forwards[0].first.addr), "192.0.2.1");
  EXPECT_EQ(text(SLUICE_FAMILY_IPV4, t.port_forwards[1].first.addr), "192.0.2.2");
}

TEST(NatTables, EqualTablesCompareEqualSoUnchangedNatIsNotRewritten) {
  auto cfg = parse(kConfig);
  std::vector<policy::InterfaceState> itfs = {{"wan0", 3, {addr("192.0.2.1/24")}}};
  auto a = policy::compile_nat(cfg, itfs), b = policy::compile_nat(cfg, itfs);
  EXPECT_TRUE(a == b);
  itfs[0].addresses[0] = addr("192.0.2.7/24");
  EXPECT_FALSE(a == policy::compile_nat(cfg, itfs));
}

}  // namespace
