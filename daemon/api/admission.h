// How much of the API one party may hold at once, so that an attacker
// holding streams or hammering requests leaves room for an admin: live
// streams globally and per principal, requests in flight per client
// address (IPv6 grouped by /64, the block one subscriber usually has).
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace sluice::api {

// The key a client address is counted under: IPv4 as is, IPv6 by its /64,
// IPv4-mapped IPv6 as the IPv4 address.
std::string address_group(const std::string& address);

class Admission {
 public:
  // A stream slot is held for as long as the returned object lives.
  using Slot = std::shared_ptr<void>;

  Admission(std::size_t max_streams, std::size_t max_streams_per_principal,
            std::size_t max_requests_per_address,
            std::size_t max_connections_per_address = SIZE_MAX)
      : max_streams_(max_streams),
        max_streams_per_principal_(max_streams_per_principal),
        max_requests_per_address_(max_requests_per_address),
        max_connections_per_address_(max_connections_per_address) {}

  // A slot for a live stream of this principal, or null when the global or
  // the principal's limit is reached.
  Slot stream(const std::string& principal);

  // A slot for an open connection from address (held while it is open),
  // or null past the address group's limit.
  Slot connection(const std::string& address);

  // Counts a request from address in; false (not counted) past the limit.
  bool request_begins(const std::string& address);
  void request_ends(const std::string& address);

  std::size_t streams() const;

 private:
  void release_stream(const std::string& principal);
  void release_connection(const std::string& group);

  const std::size_t max_streams_;
  const std::size_t max_streams_per_principal_;
  const std::size_t max_requests_per_address_;
  const std::size_t max_connections_per_address_;
  mutable std::mutex mutex_;
  std::size_t streams_ = 0;
  std::map<std::string, std::size_t> streams_by_principal_;
  std::map<std::string, std::size_t> requests_by_address_;
  std::map<std::string, std::size_t> connections_by_address_;
};

}  // namespace sluice::api
