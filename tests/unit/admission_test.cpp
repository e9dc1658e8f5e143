// What one party may hold of the API at once.
#include "api/admission.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::api {
namespace {

TEST(AddressGroup, IPv6IsGroupedByItsSlash64AndMappedIPv4IsIPv4) {
  EXPECT_EQ(address_group("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(address_group("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_group("2001:db8:1:2::1"), address_group("2001:db8:1:2:ffff::9"));
  EXPECT_NE(address_group("2001:db8:1:2::1"), address_group("2001:db8:1:3::1"));
  EXPECT_EQ(address_group("::ffff:192.0.2.7"), "192.0.2.7");
}

TEST(Admission, StreamsAreCappedPerPrincipalAndInAll) {
  Admission a(/*max_streams=*/5, /*per_principal=*/2, /*per_address=*/10);
  std::vector<Admission::Slot> held;
  held.push_back(a.stream("token t"));
  held.push_back(a.stream("token t"));
  EXPECT_FALSE(a.stream("token t")) << "a third for the same principal";
  held.push_back(a.stream("user alice"));
  held.push_back(a.stream("user bob"));
  held.push_back(a.stream("user bob"));
  for (const auto& h : held) EXPECT_TRUE(h);
  EXPECT_FALSE(a.stream("user carol")) << "the global cap";
  EXPECT_EQ(a.streams(), 5u);
  held.erase(held.begin());  // a stream ends
  EXPECT_EQ(a.streams(), 4u);
  EXPECT_TRUE(a.stream("user carol"));
}

TEST(Admission, RequestsInFlightAreCappedPerAddressGroup) {
  Admission a(1, 1, /*per_address=*/2);
  EXPECT_TRUE(a.request_begins("2001:db8::1"));
  EXPECT_TRUE(a.request_begins("2001:db8::2"));
  EXPECT_FALSE(a.request_begins("2001:db8::3")) << "same /64";
  EXPECT_TRUE(a.request_begins("192.0.2.1"));
  a.request_ends("2001:db8::1");
  EXPECT_TRUE(a.request_begins("2001:db8::3"));
}

TEST(Admission, ConnectionsAreCappedPerAddressGroupWhileTheirSlotsLive) {
  Admission a(1, 1, 1, /*max_connections_per_address=*/2);
  auto c1 = a.connection("2001:db8:1::1");
  auto c2 = a.connection("2001:db8:1::2");
  EXPECT_TRUE(c1 && c2);
  EXPECT_FALSE(a.connection("2001:db8:1::3")) << "the same /64";
  EXPECT_TRUE(a.connection("2001:db8:2::1")) << "another /64";
  c1.reset();  // that connection closed
  EXPECT_TRUE(a.connection("2001:db8:1::3"));
}

}  // namespace
}  // namespace sluice::api
