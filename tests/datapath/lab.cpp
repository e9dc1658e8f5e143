#include "datapath/lab.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace sluice::testkit {
namespace {

std::string mac_text(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

// Runs a shell command in the lab (children inherit the thread's namespace).
void run(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("lab setup failed: " + cmd);
}

}  // namespace

LabNetns::LabNetns() {
  original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_ < 0) throw std::runtime_error("cannot open the current network namespace");
  if (unshare(CLONE_NEWNET) != 0) throw std::runtime_error("unshare(CLONE_NEWNET) failed");
  run("sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1");
  run("ip link add lan0 address " + mac_text(kLanMac) + " type veth peer name lan0p");
  run("ip link add wan0 address " + mac_text(kWanMac) + " type veth peer name wan0p");
  for (const char* dev : {"lan0", "lan0p", "wan0", "wan0p"})
    run(std::string("ip link set ") + dev + " up");
  run("ip addr add 10.10.1.1/24 dev lan0 && ip addr add fd00:10:1::1/64 dev lan0 nodad");
  run("ip addr add 192.0.2.1/24 dev wan0 && ip addr add 2001:db8:2::1/64 dev wan0 nodad");
  run("ip neigh add 10.10.1.10 lladdr " + mac_text(kHost10Mac) + " dev lan0 nud permanent");
  run("ip neigh add 10.10.1.11 lladdr " + mac_text(kHost11Mac) + " dev lan0 nud permanent");
  run("ip neigh add fd00:10:1::10 lladdr " + mac_text(kHost10Mac) + " dev lan0 nud permanent");
  run("ip neigh add 192.0.2.2 lladdr " + mac_text(kServerMac) + " dev wan0 nud permanent");
  run("ip neigh add 2001:db8:2::2 lladdr " + mac_text(kServerMac) + " dev wan0 nud permanent");
  run("ip route add 203.0.113.0/24 via 192.0.2.2 dev wan0 mtu lock 1280");
}

LabNetns::~LabNetns() {
  if (original_ >= 0) {
    setns(original_, CLONE_NEWNET);
    close(original_);
  }
}

std::uint32_t LabNetns::ifindex(const std::string& name) const {
  unsigned int i = if_nametoindex(name.c_str());
  if (i == 0) throw std::runtime_error("no interface " + name + " in the lab");
  return i;
}

}  // namespace sluice::testkit
