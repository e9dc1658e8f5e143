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

UpstreamPool::Taken UpstreamPool::take(const sockaddr_storage& destination,
                                       RetiredHandles& retired) {
  auto it = idle_.find(key_of(destination));
  if (it == idle_.end()) return {};
  auto& list = it->second;
  while (!list.empty()) {
    Idle i = std::move(list.back());  // the most recently used: the least likely to be timed out
    list.pop_back();
    --count_;
    // Checked again: the server may have closed it since the last round.
    if (still_idle(i.fd)) return {i.fd, std::move(i.handle)};
    close(i.fd);
    retired.push_back(std::move(i.handle));
  }
  return {};
}

void UpstreamPool::give(const sockaddr_storage& destination, int fd,
                        std::unique_ptr<IoHandle> handle, RetiredHandles& retired) {
  auto& list = idle_[key_of(destination)];
  if (list.size() >= kPerDestination || count_ >= kTotal) {
    close(fd);
    retired.push_back(std::move(handle));
    return;
  }
  handle->kind = IoHandle::Kind::Pooled;
  handle->owner = this;
  list.push_back({fd, Clock::now(), std::move(handle)});
  ++count_;
}

void UpstreamPool::on_event(IoHandle* handle, RetiredHandles& retired) {
  for (auto it = idle_.begin(); it != idle_.end(); ++it) {
    auto& list = it->second;
    for (std::size_t n = 0; n < list.size(); ++n) {
      if (list[n].handle.get() != handle) continue;
      if (still_idle(list[n].fd)) return;  // an event of an earlier owner
      close(list[n].fd);
      retired.push_back(std::move(list[n].handle));
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(n));
      --count_;
      if (list.empty()) idle_.erase(it);
      return;
    }
  }
}

void UpstreamPool::expire(Clock::duration max_idle) {
  auto oldest = Clock::now() - max_idle;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    std::size_t kept = 0;
    for (auto& i : list) {
      if (i.since >= oldest && still_idle(i.fd)) {
        if (&list[kept] != &i) list[kept] = std::move(i);
        ++kept;
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
