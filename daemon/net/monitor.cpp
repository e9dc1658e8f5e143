#include "net/monitor.h"

#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <system_error>

namespace sluice::net {

namespace {

// What changed is not looked at: the service re-reads links and addresses.
int count_message(nl_msg*, void* arg) {
  ++*static_cast<int*>(arg);
  return NL_OK;
}

}  // namespace

LinkAddressMonitor::LinkAddressMonitor() : sock_(nl_socket_alloc()) {
  if (!sock_) throw std::system_error(ENOMEM, std::generic_category(), "netlink socket");
  nl_socket_disable_seq_check(sock_);
  int err = nl_connect(sock_, NETLINK_ROUTE);
  if (err == 0)
    err =
        nl_socket_add_memberships(sock_, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0);
  if (err == 0) err = nl_socket_set_nonblocking(sock_);
  if (err < 0) {
    nl_socket_free(sock_);
    throw std::system_error(
        EIO, std::generic_category(),
        std::string("subscribing to netlink notifications: ") + nl_geterror(err));
  }
}

LinkAddressMonitor::~LinkAddressMonitor() { nl_socket_free(sock_); }

int LinkAddressMonitor::fd() const { return nl_socket_get_fd(sock_); }

bool LinkAddressMonitor::drain() {
  int seen = 0;
  nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, count_message, &seen);
  // Non-blocking: returns once nothing is left. An overrun (ENOBUFS) also
  // means something changed.
  while (true) {
    int rc = nl_recvmsgs_default(sock_);
    if (rc == -NLE_NOMEM || rc == -NLE_AGAIN || rc == 0) break;
    if (rc < 0) {
      ++seen;
      break;
    }
  }
  return seen > 0;
}

}  // namespace sluice::net
