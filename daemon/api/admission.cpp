#include "api/admission.h"

#include <arpa/inet.h>

#include <cstring>

namespace sluice::api {

std::string address_group(const std::string& address) {
  in6_addr a6{};
  if (inet_pton(AF_INET6, address.c_str(), &a6) != 1)
    return address;  // IPv4, or not an address at all
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    char v4[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a6.s6_addr[12], v4, sizeof v4);
    return v4;
  }
  std::memset(&a6.s6_addr[8], 0, 8);
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &a6, text, sizeof text);
  return std::string(text) + "/64";
}

Admission::Slot Admission::stream(const std::string& principal) {
  std::lock_guard lock(mutex_);
  auto& mine = streams_by_principal_[principal];
  if (streams_ >= max_streams_ || mine >= max_streams_per_principal_) {
    if (mine == 0) streams_by_principal_.erase(principal);
    return nullptr;
  }
  ++streams_;
  ++mine;
  // The deleter gives the slot back, whichever thread drops the last copy.
  return Slot(static_cast<void*>(this), [this, principal](void*) { release_stream(principal); });
}

void Admission::release_stream(const std::string& principal) {
  std::lock_guard lock(mutex_);
  --streams_;
  auto it = streams_by_principal_.find(principal);
  if (it != streams_by_principal_.end() && --it->second == 0) streams_by_principal_.erase(it);
}

Admission::Slot Admission::connection(const std::string& address) {
  auto group = address_group(address);
  std::lock_guard lock(mutex_);
  auto& n = connections_by_address_[group];
  if (n >= max_connections_per_address_) return nullptr;
  ++n;
  return Slot(static_cast<void*>(this), [this, group](void*) { release_connection(group); });
}

void Admission::release_connection(const std::string& group) {
  std::lock_guard lock(mutex_);
  auto it = connections_by_address_.find(group);
  if (it != connections_by_address_.end() && --it->second == 0) connections_by_address_.erase(it);
}

std::size_t Admission::streams() const {
  std::lock_guard lock(mutex_);
  return streams_;
}

bool Admission::request_begins(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto& n = requests_by_address_[address_group(address)];
  if (n >= max_requests_per_address_) return false;
  ++n;
  return true;
}

void Admission::request_ends(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = requests_by_address_.find(address_group(address));
  if (it != requests_by_address_.end() && --it->second == 0) requests_by_address_.erase(it);
}

}  // namespace sluice::api
