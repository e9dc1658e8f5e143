// sluice's IPAM for containers (store/container_addresses.cpp), on a real
// sqlite file: the lowest free address, the same one again for the same
// attachment, none twice, a full pool, releases, the GC, and a restart.
#include "store/container_addresses.h"

#include <gtest/gtest.h>

#include "common/temp_dir.h"

namespace sluice::store {
namespace {

using testkit::TempDir;

config::Prefix pool(const char* text) { return *config::parse_prefix(text).prefix; }

std::string text(const std::optional<config::Prefix>& p) { return p ? p->to_string() : "none"; }

TEST(ContainerAddresses, LowestFreeAddressOncePerAttachment) {
  TempDir dir;
  ContainerAddresses ipam(dir.file("state.db"));
  Attachment a{"box", "aaaa", "eth0"}, b{"box", "bbbb", "eth0"}, c{"box", "cccc", "eth0"};
  EXPECT_EQ(text(ipam.allocate(a, pool("10.89.0.0/24"))), "10.89.0.1");
  EXPECT_EQ(text(ipam.allocate(b, pool("10.89.0.0/24"))), "10.89.0.2");
  EXPECT_EQ(text(ipam.allocate(a, pool("10.89.0.0/24"))), "10.89.0.1") << "the same again";
  EXPECT_EQ(ipam.release(a), 1u);
  EXPECT_EQ(ipam.release(a), 0u) << "a second release finds nothing";
  EXPECT_EQ(text(ipam.allocate(c, pool("10.89.0.0/24"))), "10.89.0.1") << "reused";
  // Another interface of the same container is another attachment.
  EXPECT_EQ(text(ipam.allocate({"box", "cccc", "eth1"}, pool("10.89.0.0/24"))), "10.89.0.3");
  // IPv6 beside IPv4, for the same attachment.
  EXPECT_EQ(text(ipam.allocate(c, pool("fd00:89::/64"))), "fd00:89::1");
  EXPECT_EQ(ipam.list().size(), 4u);
}

TEST(ContainerAddresses, AFullPoolHasNoAddress) {
  TempDir dir;
  ContainerAddresses ipam(dir.file("state.db"));
  // A /30: .1 and .2; .0 is the network, .3 its broadcast.
  EXPECT_EQ(text(ipam.allocate({"box", "a", "eth0"}, pool("10.89.0.0/30"))), "10.89.0.1");
  EXPECT_EQ(text(ipam.allocate({"box", "b", "eth0"}, pool("10.89.0.0/30"))), "10.89.0.2");
  EXPECT_FALSE(ipam.allocate({"box", "c", "eth0"}, pool("10.89.0.0/30")));
  // IPv6 has no broadcast: a /126 holds ::1 to ::3.
  for (const char* id : {"a", "b", "c"})
    EXPECT_TRUE(ipam.allocate({"box", id, "eth0"}, pool("fd00::/126"))) << id;
  EXPECT_FALSE(ipam.allocate({"box", "d", "eth0"}, pool("fd00::/126")));
}

TEST(ContainerAddresses, AllocationsOutliveTheProcess) {
  TempDir dir;
  {
    ContainerAddresses ipam(dir.file("state.db"));
    ipam.allocate({"box", "a", "eth0"}, pool("10.89.0.0/24"));
    ipam.allocate({"box", "b", "eth0"}, pool("10.89.0.0/24"));
  }
  ContainerAddresses again(dir.file("state.db"));
  EXPECT_EQ(text(again.allocate({"box", "b", "eth0"}, pool("10.89.0.0/24"))), "10.89.0.2");
  EXPECT_EQ(text(again.allocate({"box", "c", "eth0"}, pool("10.89.0.0/24"))), "10.89.0.3");
  again.set_wiring({"box", "b", "eth0"}, "02:00:00:00:00:0b", "b-name", R"({"app":"b"})",
                   R"([{"proto":"tcp","host_port":8080,"container_port":80}])");
  ContainerAddresses third(dir.file("state.db"));
  auto rows = third.list();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].attachment.container_id, "b");
  EXPECT_EQ(rows[1].mac, "02:00:00:00:00:0b") << "the MAC is kept with the addresses";
  EXPECT_EQ(rows[1].name, "b-name");
  EXPECT_EQ(rows[1].labels, R"({"app":"b"})");
  EXPECT_EQ(rows[0].mac, "");
  EXPECT_EQ(rows[0].labels, "{}");
  EXPECT_EQ(rows[1].ports, R"([{"proto":"tcp","host_port":8080,"container_port":80}])");
  EXPECT_EQ(rows[0].ports, "[]");
}

TEST(ContainerAddresses, APoolChangedUnderAnAttachmentGivesItANewAddress) {
  TempDir dir;
  ContainerAddresses ipam(dir.file("state.db"));
  ipam.allocate({"box", "a", "eth0"}, pool("10.89.0.0/24"));
  EXPECT_EQ(text(ipam.allocate({"box", "a", "eth0"}, pool("10.90.0.0/24"))), "10.90.0.1");
  EXPECT_EQ(ipam.list().size(), 1u);
}

TEST(ContainerAddresses, GarbageCollectionKeepsOnlyTheValidAttachments) {
  TempDir dir;
  ContainerAddresses ipam(dir.file("state.db"));
  for (const char* id : {"a", "b", "c"}) ipam.allocate({"box", id, "eth0"}, pool("10.89.0.0/24"));
  ipam.allocate({"other", "x", "eth0"}, pool("10.89.0.0/24"));
  auto gone = ipam.release_all_but("box", {{"box", "b", "eth0"}});
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0].attachment.container_id, "a");
  EXPECT_EQ(gone[1].attachment.container_id, "c");
  auto left = ipam.list();
  ASSERT_EQ(left.size(), 2u) << "b of box, and the other network's";
  EXPECT_EQ(left[0].attachment.container_id, "b");
  EXPECT_EQ(left[1].attachment.network, "other");
}

}  // namespace
}  // namespace sluice::store
