#include "service/control.h"

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

namespace sluice::service {

namespace {

// Requests are small (a config travels by path); a larger one is refused.
constexpr std::size_t kMaxRequest = 64 * 1024;
constexpr int kIoTimeoutSeconds = 2;

}  // namespace

ControlServer::ControlServer(std::string path) : path_(std::move(path)) {
  auto dir = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "creating " + dir.string());
  chmod(dir.c_str(), 0700);

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
  if (request.size() > kMaxRequest) {
    answer = R"({"ok":false,"code":413,"error":"request too large"})";
  } else {
    std::lock_guard lock(service_lock);
    answer = handle_request(service, request, Caller{"root (control socket)", true, true});
  }
  answer += "\n";
  for (std::size_t off = 0; off < answer.size();) {
    ssize_t w = write(c, answer.data() + off, answer.size() - off);
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
  close(c);
}

}  // namespace sluice::service
