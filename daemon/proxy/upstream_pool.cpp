#include "proxy/upstream_pool.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::proxy {

namespace {

std::string key_of(const sockaddr_storage& a) {
  std::size_t len = a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  std::string key(reinterpret_cast<const char*>(&a), len);
  if (a.ss_family == AF_INET6)  // flow info and scope are not part of where
    std::memset(key.data() + offsetof(sockaddr_in6, sin6_flowinfo), 0, 4);
  return key;
}

// Open and quiet: the server has neither closed it nor sent anything.
bool still_idle(int fd) {
  char byte;
  ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

UpstreamPool::~UpstreamPool() {
  for (auto& [key, list] : idle_)
    for (auto& i : list) close(i.fd);
}

int UpstreamPool::take(const sockaddr_storage& destination) {
  auto it = idle_.find(key_of(destination));
  if (it == idle_.end()) return -1;
  auto& list = it->second;
  while (!list.empty()) {
    Idle i = list.back();  // the most recently used: the least likely to be timed out
    list.pop_back();
    --count_;
    if (still_idle(i.fd)) return i.fd;
    close(i.fd);
  }
  return -1;
}

void UpstreamPool::give(const sockaddr_storage& destination, int fd) {
  auto& list = idle_[key_of(destination)];
  if (list.size() >= kPerDestination || count_ >= kTotal) {
    close(fd);
    return;
  }
  list.push_back({fd, Clock::now()});
  ++count_;
}

void UpstreamPool::expire(Clock::duration max_idle) {
  auto oldest = Clock::now() - max_idle;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::size_t kept = 0;
    for (auto& i : list) {
      if (i.since >= oldest && still_idle(i.fd)) {
        list[kept++] = i;
      } else {
        close(i.fd);
        --count_;
      }
    }
    list.resize(kept);
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace sluice::proxy
