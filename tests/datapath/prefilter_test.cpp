// The XDP prefilter: blocklisted sources are dropped before the stack.
#include <linux/bpf.h>

#include <chrono>

#include "datapath/fixture.h"

namespace sluice::testkit {
namespace {

using Prefilter = DatapathTest;

config::Prefix prefix(const char* text) { return *config::parse_prefix(text).prefix; }

TEST_F(Prefilter, DropsBlocklistedSourcesAtXdp) {
  dp.set_prefilter({prefix("203.0.113.0/24"), prefix("2001:db8:bad::/48")});
  auto run = [&](const std::vector<std::uint8_t>& f) {
    return datapath::test_run(dp.xdp_ingress_fd(), f).retval;
  };
  auto before = drops(SLUICE_DROP_PREFILTER);
  EXPECT_EQ(run(PacketBuilder::ipv4("203.0.113.77", "10.0.0.1").udp(1, 2).build()), XDP_DROP);
  EXPECT_EQ(run(PacketBuilder::ipv6("2001:db8:bad:1::1", "fd00::1").udp(1, 2).build()), XDP_DROP);
  EXPECT_EQ(run(PacketBuilder::ipv4("203.0.114.1", "10.0.0.1").udp(1, 2).build()), XDP_PASS);
  EXPECT_EQ(run(PacketBuilder::ipv4("10.0.0.1", "203.0.113.77").udp(1, 2).build()), XDP_PASS)
      << "only sources are blocked";
  EXPECT_EQ(drops(SLUICE_DROP_PREFILTER), before + 2);

  dp.set_prefilter({prefix("2001:db8:bad::/48")});
  EXPECT_EQ(run(PacketBuilder::ipv4("203.0.113.77", "10.0.0.1").udp(1, 2).build()), XDP_PASS);
  dp.set_prefilter({});
}

TEST_F(Prefilter, AManagementSourceInsideABlockedPrefixIsLetThrough) {
  dp.set_prefilter({prefix("203.0.113.0/24"), prefix("2001:db8:bad::/48")},
                   {prefix("203.0.113.7/32"), prefix("2001:db8:bad:1::/64")});
  auto run = [&](const std::vector<std::uint8_t>& f) {
    return datapath::test_run(dp.xdp_ingress_fd(), f).retval;
  };
  EXPECT_EQ(run(PacketBuilder::ipv4("203.0.113.7", "10.0.0.1").tcp(40000, 22, kSyn).build()),
            XDP_PASS);
  EXPECT_EQ(run(PacketBuilder::ipv4("203.0.113.8", "10.0.0.1").tcp(40000, 22, kSyn).build()),
            XDP_DROP);
  EXPECT_EQ(run(PacketBuilder::ipv6("2001:db8:bad:1::9", "fd00::1").udp(1, 2).build()), XDP_PASS);
  EXPECT_EQ(run(PacketBuilder::ipv6("2001:db8:bad:2::9", "fd00::1").udp(1, 2).build()), XDP_DROP);
  // The exemption goes with the next blocklist that does not carry it.
  dp.set_prefilter({prefix("203.0.113.0/24")});
  EXPECT_EQ(run(PacketBuilder::ipv4("203.0.113.7", "10.0.0.1").tcp(40000, 22, kSyn).build()),
            XDP_DROP);
  dp.set_prefilter({});
}

TEST_F(Prefilter, HoldsAMillionPrefixes) {
  std::vector<config::Prefix> many;
  many.reserve(1'000'000);
  for (std::uint32_t i = 0; i < 1'000'000; ++i) {
    config::Prefix p;
    std::uint32_t a = 0x64000000u + i * 16;  // 100.0.0.0 onwards, /28 apart
    p.addr[0] = static_cast<std::uint8_t>(a >> 24);
    p.addr[1] = static_cast<std::uint8_t>(a >> 16);
    p.addr[2] = static_cast<std::uint8_t>(a >> 8);
    p.addr[3] = static_cast<std::uint8_t>(a);
    p.length = 28;
    many.push_back(p);
  }
  dp.set_prefilter(many);
  auto run = [&](const char* src) {
    return datapath::test_run(dp.xdp_ingress_fd(),
                              PacketBuilder::ipv4(src, "10.0.0.1").udp(1, 2).build())
        .retval;
  };
  EXPECT_EQ(run("100.0.0.3"), XDP_DROP);
  EXPECT_EQ(run("100.244.35.255"),
            XDP_DROP);  // in the last: 100.0.0.0 + 999999 * 16 = 100.244.35.240/28
  EXPECT_EQ(run("100.244.36.0"), XDP_PASS);
  dp.set_prefilter({});
}

}  // namespace
}  // namespace sluice::testkit
