// The local control socket: one JSON request per connection, one JSON
// answer. sluicectl is its client; docs/daemon.md lists the commands.
//
// Who may use it is checked twice: by the file's mode (0600, or 0660 for
// the read-only group) and by the peer's credentials (SO_PEERCRED): root
// may do everything, members of the read-only group may only read, anyone
// else is refused, whatever the file's mode says.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <optional>
#include <string>

namespace sluice::service {
class Service;
}

namespace sluice::sluiced {

class ControlServer {
 public:
  // Listens on path, replacing a stale socket file. read_only_group: a
  // group whose members may use the read-only commands. Throws
  // std::system_error.
  explicit ControlServer(std::string path, std::optional<gid_t> read_only_group = std::nullopt);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int fd() const { return fd_; }

  // Accepts one pending connection and answers it, holding service_lock
  // while the service works on it.
  void serve_one(service::Service& service, std::mutex& service_lock);

 private:
  std::string path_;
  std::optional<gid_t> read_only_group_;
  int fd_ = -1;
};

}  // namespace sluice::sluiced
