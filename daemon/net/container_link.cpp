#include "net/container_link.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "net/netlink.h"

namespace sluice::net {

namespace {

using Link = NetlinkLink;

// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void check(int err, const std::string& what) {
  if (err < 0) throw std::runtime_error(what + ": " + nl_geterror(err));
}

NetlinkAddr nl(const config::Prefix& p) {
  auto a = netlink_address(p);
  if (!a) throw std::runtime_error("out of memory");
  return a;
}

config::Prefix prefix(const char* text) { return *config::parse_prefix(text).prefix; }

config::Prefix whole(config::Family f) {
  config::Prefix p;
  p.family = f;
  p.length = 0;
  return p;
}

Link kernel_link(nl_sock* sock, const std::string& name) {
  rtnl_link* raw = nullptr;
  check(rtnl_link_get_kernel(sock, 0, name.c_str(), &raw), "finding " + name);
  return Link(raw);
}

void set_up(nl_sock* sock, rtnl_link* link) {
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  check(rtnl_link_change(sock, link, change.get(), 0),
        std::string("bringing up ") + rtnl_link_get_name(link));
}

void add_address(nl_sock* sock, int ifindex, const config::Prefix& p) {
  NetlinkIfAddr a(rtnl_addr_alloc());
  auto local = nl(p);
  rtnl_addr_set_ifindex(a.get(), ifindex);
  rtnl_addr_set_local(a.get(), local.get());
  // Nobody else on a veth could hold it: no duplicate detection to wait for.
  if (p.family == config::Family::V6) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
  check(rtnl_addr_add(sock, a.get(), 0), "adding " + p.to_string());
}

// dst on the link, or via gateway on it.
void add_route(nl_sock* sock, int ifindex, const config::Prefix& dst,
               const config::Prefix* gateway) {
  NetlinkRoute r(rtnl_route_alloc());
  auto d = nl(dst);
  rtnl_route_set_family(r.get(), dst.family == config::Family::V4 ? AF_INET : AF_INET6);
  rtnl_route_set_dst(r.get(), d.get());
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(r.get(), gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  if (gateway) {
    auto gw = nl(*gateway);
    rtnl_route_nh_set_gateway(nh, gw.get());
  }
  rtnl_route_add_nexthop(r.get(), nh);
  check(rtnl_route_add(sock, r.get(), NLM_F_CREATE), "adding the route to " + dst.to_string());
}

std::string mac_of(rtnl_link* link) {
  char buf[64] = {};
  nl_addr* a = rtnl_link_get_addr(link);
  return a ? nl_addr2str(a, buf, sizeof buf) : "";
}

bool has_family(const ContainerLinkRequest& r, config::Family f) {
  for (const auto& a : r.addresses)
    if (a.family == f) return true;
  return false;
}

// The host end: up, the gateway addresses, a route to each container
// address.
void configure_host_end(nl_sock* sock, const ContainerLinkRequest& r, ContainerLink& out) {
  auto link = kernel_link(sock, r.host_name);
  out.host_ifindex = rtnl_link_get_ifindex(link.get());
  out.host_mac = mac_of(link.get());
  set_up(sock, link.get());
  if (has_family(r, config::Family::V4))
    add_address(sock, out.host_ifindex, prefix(kContainerGateway4));
  if (has_family(r, config::Family::V6)) {
    auto gw = prefix(kContainerGateway6);
    gw.length = 64;
    add_address(sock, out.host_ifindex, gw);
  }
  for (const auto& a : r.addresses) add_route(sock, out.host_ifindex, a, nullptr);
}

// The container end, from a thread inside the container's namespace: up,
// its addresses, the default routes via the gateway.
void configure_container_end(int netns_fd, const ContainerLinkRequest& r, ContainerLink& out) {
  if (setns(netns_fd, CLONE_NEWNET) != 0)
    throw std::runtime_error("entering " + r.netns + ": " + std::strerror(errno));
  // Addresses are added without duplicate detection; the link-local one
  // the kernel makes need not wait for it either.
  std::ofstream("/proc/sys/net/ipv6/conf/" + r.ifname + "/accept_dad") << "0";
  auto sock = route_socket();
  auto link = kernel_link(sock.get(), r.ifname);
  out.container_ifindex = rtnl_link_get_ifindex(link.get());
  out.container_mac = mac_of(link.get());
  set_up(sock.get(), link.get());
  for (const auto& a : r.addresses) add_address(sock.get(), out.container_ifindex, a);
  for (auto f : {config::Family::V4, config::Family::V6}) {
    if (!has_family(r, f)) continue;
    auto gw = prefix(f == config::Family::V4 ? kContainerGateway4 : kContainerGateway6);
    if (f == config::Family::V4) add_route(sock.get(), out.container_ifindex, gw, nullptr);
    add_route(sock.get(), out.container_ifindex, whole(f), &gw);
  }
}

}  // namespace

std::string host_link_name(const std::string& network, const std::string& container_id,
                           const std::string& ifname) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (const auto* part : {&network, &container_id, &ifname}) {
    for (unsigned char c : *part) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // a separator no name holds
  }
  char name[16];
  std::snprintf(name, sizeof name, "sl%012llx",
                static_cast<unsigned long long>(h & 0xffffffffffffull));
  return name;
}

ContainerLink add_container_link(const ContainerLinkRequest& r) {
  Fd netns{open(r.netns.c_str(), O_RDONLY | O_CLOEXEC)};
  if (netns.fd < 0)
    throw std::runtime_error("network namespace " + r.netns + ": " + std::strerror(errno));
  auto sock = route_socket();
  {
    // The pair, its container end made in the container's namespace under
    // its name there.
    Link link(rtnl_link_veth_alloc());
    if (!link) throw std::runtime_error("out of memory");
    rtnl_link_set_name(link.get(), r.host_name.c_str());
    Link peer(rtnl_link_veth_get_peer(link.get()));
    rtnl_link_set_name(peer.get(), r.ifname.c_str());
    rtnl_link_set_ns_fd(peer.get(), netns.fd);
    check(rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL),
          "creating the veth pair " + r.host_name + " / " + r.ifname + " in " + r.netns);
  }
  ContainerLink out;
  try {
    configure_host_end(sock.get(), r, out);
    std::exception_ptr failed;
    std::thread inside([&] {
      try {
        configure_container_end(netns.fd, r, out);
      } catch (...) {
        failed = std::current_exception();
      }
    });
    inside.join();
    if (failed) std::rethrow_exception(failed);
  } catch (...) {
    remove_container_link(r.host_name);
    throw;
  }
  return out;
}

bool remove_container_link(const std::string& host_name) {
  auto sock = route_socket();
  Link link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), host_name.c_str());
  int err = rtnl_link_delete(sock.get(), link.get());
  if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) return false;
  check(err, "removing " + host_name);
  return true;
}

}  // namespace sluice::net
