#include "sluiced/control.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "service/requests.h"

namespace sluice::sluiced {

using service::Caller;
using service::Service;

namespace {

// Requests are small (a config travels by path); a larger one is refused.
constexpr std::size_t kMaxRequest = 64 * 1024;
constexpr int kIoTimeoutSeconds = 2;

// Who is at the other end, as the kernel says: root, a member of the
// read-only group (only reads), or nobody we serve.
std::optional<Caller> peer_caller(int fd, std::optional<gid_t> read_only_group) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  if (cred.uid == 0) return Caller{"root (control socket)", true, true};
  if (!read_only_group) return std::nullopt;
  bool member = cred.gid == *read_only_group;
  gid_t groups[256];
  socklen_t glen = sizeof groups;
  if (!member && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
    for (std::size_t i = 0; i < glen / sizeof(gid_t); ++i) member |= groups[i] == *read_only_group;
  if (!member) return std::nullopt;
  return Caller{"uid " + std::to_string(cred.uid) + " (read-only group, control socket)", false,
                false};
}

}  // namespace

ControlServer::ControlServer(std::string path, std::optional<gid_t> read_only_group)
    : path_(std::move(path)), read_only_group_(read_only_group) {
  auto dir = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  // Only a directory sluiced makes is given its mode: an existing one (a
  // test's, or /run shared with others) is the operator's to set.
  bool made = std::filesystem::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "creating " + dir.string());
  if (made) {
    chmod(dir.c_str(), read_only_group_ ? 0750 : 0700);
    if (read_only_group_ && chown(dir.c_str(), 0, *read_only_group_) != 0)
      throw std::system_error(errno, std::generic_category(),
                              "giving " + dir.string() + " to the read-only group");
  }

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path)
    throw std::system_error(ENAMETOOLONG, std::generic_category(), "control socket path " + path_);
  std::strcpy(addr.sun_path, path_.c_str());
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "control socket");
  unlink(path_.c_str());  // a stale socket of an earlier run
  mode_t old = umask(0177);
  int rc = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc == 0 && read_only_group_ &&
      (chown(path_.c_str(), 0, *read_only_group_) != 0 || chmod(path_.c_str(), 0660) != 0))
    rc = -1;
  if (rc != 0 || listen(fd_, 16) != 0) {
    int err = errno;
    close(fd_);
    throw std::system_error(err, std::generic_category(), "listening on " + path_);
  }
}

ControlServer::~ControlServer() {
  close(fd_);
  unlink(path_.c_str());
}

void ControlServer::serve_one(Service& service, std::mutex& service_lock) {
  int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return;
  timeval tv{kIoTimeoutSeconds, 0};
  setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  // The client writes its request and shuts its side down.
  std::string request;
  char buf[4096];
  ssize_t n;
  while ((n = read(c, buf, sizeof buf)) > 0) {
    request.append(buf, static_cast<std::size_t>(n));
    if (request.size() > kMaxRequest) break;
  }
  std::string answer;
  auto caller = peer_caller(c, read_only_group_);
  if (!caller) {
    answer =
        R"({"ok":false,"code":403,"error":"only root, or the read-only group sluiced was given with --socket-group, may use the control socket"})";
  } else if (request.size() > kMaxRequest) {
    answer = R"({"ok":false,"code":413,"error":"request too large"})";
  } else {
    std::lock_guard lock(service_lock);
    answer = handle_request(service, request, *caller);
  }
  answer += "\n";
  for (std::size_t off = 0; off < answer.size();) {
    ssize_t w = write(c, answer.data() + off, answer.size() - off);
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
  close(c);
}

}  // namespace sluice::sluiced
