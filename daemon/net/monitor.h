// Netlink notifications of links and addresses coming and going, so that
// sluiced attaches to a new interface and learns a new address at once
// instead of at its next periodic refresh.
#pragma once

struct nl_sock;

namespace sluice::net {

class LinkAddressMonitor {
 public:
  // Subscribes to link, IPv4 and IPv6 address changes of the current
  // network namespace. Throws std::system_error.
  LinkAddressMonitor();
  ~LinkAddressMonitor();
  LinkAddressMonitor(const LinkAddressMonitor&) = delete;
  LinkAddressMonitor& operator=(const LinkAddressMonitor&) = delete;

  int fd() const;  // readable when notifications wait

  // Reads every waiting notification; true when there was at least one.
  bool drain();

 private:
  nl_sock* sock_ = nullptr;
};

}  // namespace sluice::net
