// Container links (daemon/net/container_link.cpp) between network
// namespaces the test makes: the test thread enters a fresh one (the
// "host"), and a child process sits in another (the "container"). Both
// are anonymous: they go with the test, also when it fails.
#include "net/container_link.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace sluice::net {
namespace {

class ContainerLinks : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(original_, 0);
    ASSERT_EQ(unshare(CLONE_NEWNET), 0);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    container_ = fork();
    if (container_ == 0) {
      char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      if (write(ready[1], &c, 1) != 1) _exit(1);
      pause();
      _exit(0);
    }
    close(ready[1]);
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    ASSERT_EQ(c, 'y');
    netns_ = "/proc/" + std::to_string(container_) + "/ns/net";
  }

  void TearDown() override {
    if (container_ > 0) {
      kill(container_, SIGKILL);
      waitpid(container_, nullptr, 0);
    }
    if (original_ >= 0) {
      setns(original_, CLONE_NEWNET);
      close(original_);
    }
  }

  // A command in the host namespace, and in the container's.
  static int host(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str());
  }
  int inside(const std::string& command) const {
    return host("nsenter --net=" + netns_ + " " + command);
  }

  ContainerLinkRequest request(const std::string& host_name = "slhost0") const {
    return {
        netns_,
        "eth0",
        host_name,
        {*config::parse_prefix("10.89.0.2").prefix, *config::parse_prefix("fd00:89::2").prefix}};
  }

  int original_ = -1;
  pid_t container_ = -1;
  std::string netns_;
};

TEST_F(ContainerLinks, TheContainerReachesItsGatewayAndTheHostTheContainer) {
  auto link = add_container_link(request());
  EXPECT_GT(link.host_ifindex, 0);
  EXPECT_GT(link.container_ifindex, 0);
  EXPECT_EQ(link.container_mac.size(), 17u) << link.container_mac;
  EXPECT_EQ(inside("sh -c 'ip -o addr show dev eth0 | grep -q \"10.89.0.2/32\"'"), 0);
  EXPECT_EQ(inside("sh -c 'ip route show default | grep -q \"via 169.254.1.1 dev eth0\"'"), 0);
  EXPECT_EQ(host("sh -c 'ip route show 10.89.0.2 | grep -q \"dev slhost0\"'"), 0);
  EXPECT_EQ(inside("ping -c1 -W2 169.254.1.1"), 0);
  EXPECT_EQ(host("ping -c1 -W2 10.89.0.2"), 0);
  EXPECT_EQ(host("ping -6 -c1 -W2 fd00:89::2"), 0);
  EXPECT_EQ(inside("ping -6 -c1 -W2 -I eth0 fe80::1"), 0);
}

TEST_F(ContainerLinks, RemovingTheHostEndTakesThePairAndARepeatFindsNothing) {
  add_container_link(request());
  EXPECT_TRUE(remove_container_link("slhost0"));
  EXPECT_NE(host("ip link show slhost0"), 0);
  EXPECT_NE(inside("ip link show eth0"), 0);
  EXPECT_NE(host("sh -c 'ip route show 10.89.0.2 | grep -q .'"), 0);
  EXPECT_FALSE(remove_container_link("slhost0"));
}

TEST_F(ContainerLinks, AFailureSaysWhatAndLeavesNothingBehind) {
  auto missing = request();
  missing.netns = "/proc/self/task/0/ns/net-none";
  try {
    add_container_link(missing);
    ADD_FAILURE() << "no error for a missing namespace";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("net-none"), std::string::npos) << e.what();
  }
  // The container's eth0 is taken: the second pair cannot be made.
  add_container_link(request("slhost0"));
  try {
    add_container_link(request("slhost1"));
    ADD_FAILURE() << "no error for a taken interface name";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("slhost1"), std::string::npos) << e.what();
  }
  EXPECT_NE(host("ip link show slhost1"), 0);
  EXPECT_EQ(host("ip link show slhost0"), 0) << "the first one is untouched";
}

TEST(ContainerLinkNames, StableShortAndDistinct) {
  auto a = host_link_name("box", "0123456789abcdef", "eth0");
  EXPECT_EQ(a, host_link_name("box", "0123456789abcdef", "eth0"));
  EXPECT_LE(a.size(), 15u);
  EXPECT_EQ(a.rfind("sl", 0), 0u);
  EXPECT_NE(a, host_link_name("box", "0123456789abcdef", "eth1"));
  EXPECT_NE(a, host_link_name("box2", "0123456789abcdef", "eth0"));
  EXPECT_NE(host_link_name("ab", "c", "eth0"), host_link_name("a", "bc", "eth0"));
}

}  // namespace
}  // namespace sluice::net
