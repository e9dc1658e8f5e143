#include "net/proxy_routing.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <sys/socket.h>

#include <memory>
#include <system_error>

#include "net/netlink.h"
#include "net/routes.h"
#include "sluice/abi.h"

namespace sluice::net {

namespace {

struct RuleDeleter {
  void operator()(rtnl_rule* r) const { rtnl_rule_put(r); }
};
using NetlinkRule = std::unique_ptr<rtnl_rule, RuleDeleter>;

NetlinkRule mark_rule(int family) {
  NetlinkRule rule(rtnl_rule_alloc());
  rtnl_rule_set_family(rule.get(), family);
  rtnl_rule_set_prio(rule.get(), kProxyRulePriority);
  rtnl_rule_set_mark(rule.get(), SLUICE_PROXY_MARK);
  rtnl_rule_set_mask(rule.get(), SLUICE_PROXY_MARK_MASK);
  rtnl_rule_set_table(rule.get(), kProxyTable);
  rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
  return rule;
}

NetlinkRoute local_route(int family) {
  NetlinkRoute route(rtnl_route_alloc());
  nl_addr* any = nl_addr_build(family, nullptr, 0);
  nl_addr_set_prefixlen(any, 0);
  rtnl_route_set_family(route.get(), static_cast<std::uint8_t>(family));
  rtnl_route_set_dst(route.get(), any);
  nl_addr_put(any);
  rtnl_route_set_table(route.get(), kProxyTable);
  rtnl_route_set_type(route.get(), RTN_LOCAL);
  rtnl_route_set_scope(route.get(), RT_SCOPE_HOST);
  rtnl_route_set_protocol(route.get(), kRouteProtocol);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, 1);  // lo
  rtnl_route_add_nexthop(route.get(), nh);
  return route;
}

}  // namespace

std::string install_proxy_routing() {
  NetlinkSocket sock;
  try {
    sock = route_socket();
  } catch (const std::system_error& e) {
    return e.what();
  }
  std::string problems;
  for (int family : {AF_INET, AF_INET6}) {
    const char* name = family == AF_INET ? "IPv4" : "IPv6";
    auto route = local_route(family);
    if (int err = rtnl_route_add(sock.get(), route.get(), NLM_F_CREATE | NLM_F_REPLACE); err < 0)
      problems += std::string(problems.empty() ? "" : "; ") + "the proxy's " + name +
                  " local route: " + nl_geterror(err);
    auto rule = mark_rule(family);
    int err = rtnl_rule_add(sock.get(), rule.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST)
      problems += std::string(problems.empty() ? "" : "; ") + "the proxy's " + name +
                  " mark rule: " + nl_geterror(err);
  }
  return problems;
}

std::string remove_proxy_routing() {
  NetlinkSocket sock;
  try {
    sock = route_socket();
  } catch (const std::system_error& e) {
    return e.what();
  }
  std::string problems;
  for (int family : {AF_INET, AF_INET6}) {
    auto rule = mark_rule(family);
    int err = rtnl_rule_delete(sock.get(), rule.get(), 0);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR)
      problems += std::string(problems.empty() ? "" : "; ") +
                  "removing the proxy's mark rule: " + nl_geterror(err);
    auto route = local_route(family);
    rtnl_route_delete(sock.get(), route.get(), 0);  // gone with its table when absent
  }
  return problems;
}

}  // namespace sluice::net
