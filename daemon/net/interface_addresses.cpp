#include "net/interface_addresses.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstring>
#include <map>
#include <memory>
#include <system_error>
#include <tuple>

#include "net/netlink.h"

namespace sluice::net {

namespace {

// One address as netlink reports it.
struct KernelAddress {
  int ifindex = 0;
  config::Prefix prefix;  // host address + subnet length
  int protocol = 0;       // IFA_PROTO, 0 when unset
};

using Key = std::tuple<int, config::Prefix>;  // ifindex, address with length

struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Message = std::unique_ptr<nl_msg, MsgDeleter>;

int collect(nl_msg* msg, void* arg) {
  auto* out = static_cast<std::vector<KernelAddress>*>(arg);
  nlmsghdr* hdr = nlmsg_hdr(msg);
  if (hdr->nlmsg_type != RTM_NEWADDR) return NL_OK;
  auto* ifa = static_cast<ifaddrmsg*>(nlmsg_data(hdr));
  nlattr* tb[IFA_MAX + 1] = {};
  if (nlmsg_parse(hdr, sizeof(*ifa), tb, IFA_MAX, nullptr) < 0) return NL_OK;
  // IFA_LOCAL is the address itself on point-to-point links too.
  nlattr* addr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!addr) return NL_OK;
  KernelAddress a;
  a.ifindex = static_cast<int>(ifa->ifa_index);
  if (ifa->ifa_family == AF_INET && nla_len(addr) == 4)
    a.prefix.family = config::Family::V4;
  else if (ifa->ifa_family == AF_INET6 && nla_len(addr) == 16)
    a.prefix.family = config::Family::V6;
  else
    return NL_OK;
  std::memcpy(a.prefix.addr.data(), nla_data(addr), static_cast<std::size_t>(nla_len(addr)));
  a.prefix.length = ifa->ifa_prefixlen;
  if (tb[IFA_PROTO]) a.protocol = nla_get_u8(tb[IFA_PROTO]);
  out->push_back(a);
  return NL_OK;
}

std::vector<KernelAddress> dump(nl_sock* sock) {
  ifaddrmsg req{};
  req.ifa_family = AF_UNSPEC;
  if (int err = nl_send_simple(sock, RTM_GETADDR, NLM_F_DUMP, &req, sizeof req); err < 0)
    throw std::system_error(EIO, std::generic_category(),
                            std::string("listing addresses: ") + nl_geterror(err));
  std::vector<KernelAddress> out;
  nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, collect, &out);
  if (int err = nl_recvmsgs_default(sock); err < 0)
    throw std::system_error(EIO, std::generic_category(),
                            std::string("listing addresses: ") + nl_geterror(err));
  return out;
}

// RTM_NEWADDR / RTM_DELADDR for one address; returns a libnl error code.
int change(nl_sock* sock, int type, int flags, int ifindex, const config::Prefix& p) {
  Message msg(nlmsg_alloc_simple(type, flags));
  if (!msg) return -NLE_NOMEM;
  ifaddrmsg ifa{};
  ifa.ifa_family = p.family == config::Family::V4 ? AF_INET : AF_INET6;
  ifa.ifa_prefixlen = p.length;
  ifa.ifa_index = static_cast<unsigned>(ifindex);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  if (nlmsg_append(msg.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO) < 0) return -NLE_NOMEM;
  int len = p.byte_size();
  if (nla_put(msg.get(), IFA_LOCAL, len, p.addr.data()) < 0 ||
      nla_put(msg.get(), IFA_ADDRESS, len, p.addr.data()) < 0)
    return -NLE_NOMEM;
  if (type == RTM_NEWADDR && nla_put_u8(msg.get(), IFA_PROTO, kAddressProtocol) < 0)
    return -NLE_NOMEM;
  if (int err = nl_send_auto(sock, msg.get()); err < 0) return err;
  return nl_wait_for_ack(sock);
}

std::string describe(const config::Prefix& p, int ifindex) {
  char name[IF_NAMESIZE] = {};
  return p.to_string() + " on " +
         (if_indextoname(static_cast<unsigned>(ifindex), name) ? name : std::to_string(ifindex));
}

}  // namespace

Changes reconcile_interface_addresses(const std::vector<config::Interface>& interfaces) {
  Changes out;
  std::map<Key, bool> wanted;  // -> present already
  for (const auto& itf : interfaces) {
    int ifindex = static_cast<int>(if_nametoindex(itf.name.c_str()));
    if (ifindex == 0) continue;
    for (const auto& a : itf.addresses) wanted[{ifindex, a}] = false;
  }

  NetlinkSocket sock;
  std::vector<KernelAddress> present;
  try {
    sock = route_socket();
    present = dump(sock.get());
  } catch (const std::system_error& e) {
    out.problems.push_back(e.what());
    return out;
  }
  // Back to plain acks for the changes below.
  nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_DEFAULT, nullptr, nullptr);

  for (const auto& a : present) {
    auto it = wanted.find({a.ifindex, a.prefix});
    if (it != wanted.end()) {
      it->second = true;
      ++out.kept;
      continue;
    }
    if (a.protocol != kAddressProtocol) continue;  // not ours
    if (int err = change(sock.get(), RTM_DELADDR, 0, a.ifindex, a.prefix); err < 0)
      out.problems.push_back("cannot remove " + describe(a.prefix, a.ifindex) + ": " +
                             nl_geterror(err));
    else
      ++out.removed;
  }
  for (const auto& [key, there] : wanted) {
    if (there) continue;
    const auto& [ifindex, prefix] = key;
    int err = change(sock.get(), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, prefix);
    if (err == 0)
      ++out.added;
    else if (err == -NLE_EXIST)
      out.problems.push_back(describe(prefix, ifindex) +
                             ": the address is already there with another "
                             "prefix length, not added by sluice; left as it is");
    else
      out.problems.push_back("cannot add " + describe(prefix, ifindex) + ": " + nl_geterror(err));
  }
  return out;
}

}  // namespace sluice::net
