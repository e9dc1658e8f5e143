#include "config/address.h"

#include <gtest/gtest.h>

namespace {

using namespace sluice::config;

TEST(Address, ParsesHostsAndPrefixes) {
  auto a = parse_prefix("192.0.2.1");
  ASSERT_TRUE(a.prefix);
  EXPECT_EQ(a.prefix->family, Family::V4);
  EXPECT_EQ(a.prefix->length, 32);
  EXPECT_EQ(a.prefix->to_string(), "192.0.2.1");

  auto b = parse_prefix("2001:db8::/32");
  ASSERT_TRUE(b.prefix);
  EXPECT_EQ(b.prefix->family, Family::V6);
  EXPECT_EQ(b.prefix->to_string(), "2001:db8::/32");

  EXPECT_TRUE(parse_prefix("0.0.0.0/0").prefix);
}

TEST(Address, RejectsGarbage) {
  EXPECT_EQ(parse_prefix("10.0.0.0/").error, "prefix length in '10.0.0.0/' must be 0..32");
  EXPECT_EQ(parse_prefix("10.0.0.0/-1").error, "prefix length in '10.0.0.0/-1' must be 0..32");
  EXPECT_EQ(parse_prefix("fe80::1%eth0").error, "'fe80::1%eth0' is not an IPv4 or IPv6 address");
  EXPECT_EQ(parse_prefix("").error, "'' is not an IPv4 or IPv6 address");
}

TEST(Address, Containment) {
  auto net = *parse_prefix("10.1.0.0/16").prefix;
  auto sub = *parse_prefix("10.1.2.0/24").prefix;
  auto other = *parse_prefix("10.2.0.0/24").prefix;
  EXPECT_TRUE(net.contains(sub));
  EXPECT_FALSE(sub.contains(net));
  EXPECT_FALSE(net.contains(other));
  EXPECT_TRUE(net.contains(net));
  EXPECT_TRUE(sub.contains_address(parse_prefix("10.1.2.77").prefix->addr, Family::V4));
  EXPECT_FALSE(sub.contains_address(parse_prefix("10.1.3.77").prefix->addr, Family::V4));
  EXPECT_FALSE(sub.contains_address(parse_prefix("10.1.2.77").prefix->addr, Family::V6));
}

}  // namespace
