// The local control socket: one JSON request per connection, one JSON
// answer. Root-only (mode 0600 in a 0700 directory); whoever can connect
// is trusted, as root is. sluicectl is its client; docs/control.md lists
// the commands.
#pragma once

#include <mutex>
#include <string>

namespace sluice::service {

class Service;

class ControlServer {
 public:
  // Listens on path, replacing a stale socket file. Throws std::system_error.
  explicit ControlServer(std::string path);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int fd() const { return fd_; }

  // Accepts one pending connection and answers it, holding service_lock
  // while the service works on it.
  void serve_one(Service& service, std::mutex& service_lock);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace sluice::service
