// The socket side of a proxied connection: reading and writing without
// blocking, the upstream connection, tunnels, timeouts, epoll interest.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/connection.h"

namespace sluice::proxy {

namespace {

// Stop reading a side while this much waits to be written to the other.
constexpr std::size_t kBackpressure = 256 * 1024;

void describe(const sockaddr_storage& a, std::string& addr, std::uint16_t& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    port = ntohs(in.sin_port);
  } else {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    port = ntohs(in6.sin6_port);
  }
  addr = text;
}

}  // namespace

Connection::Connection(ProxyState& state, int client_fd, const sockaddr_storage& client,
                       const sockaddr_storage& local, std::uint16_t slot)
    : state_(state),
      client_fd_(client_fd),
      client_io_{IoHandle::Kind::Client, this, slot},
      destination_(local),
      slot_(slot) {
  describe(client, client_addr_, client_port_);
  describe(local, server_addr_, server_port_);
  // TCP_NODELAY comes from the listener (sluiced sets it there).
  epoll_event ev{};
  ev.events = client_events_ = EPOLLIN;
  ev.data.ptr = &client_io_;
  epoll_ctl(state_.epoll_fd, EPOLL_CTL_ADD, client_fd_, &ev);
  deadline_in(state_.limits.header_timeout_seconds);
}

Connection::~Connection() {
  if (client_fd_ >= 0) close(client_fd_);
  if (upstream_fd_ >= 0) close(upstream_fd_);
}

std::uint64_t Connection::idle_seconds() const {
  const auto* r = rule();
  return r && r->rule.l7.idle_timeout_seconds ? r->rule.l7.idle_timeout_seconds
                                              : state_.limits.idle_timeout_seconds;
}

std::uint64_t Connection::upstream_seconds() const {
  const auto* r = rule();
  return r && r->rule.l7.upstream_timeout_seconds ? r->rule.l7.upstream_timeout_seconds
                                                  : state_.limits.upstream_timeout_seconds;
}

void Connection::deadline_in(std::uint64_t seconds) {
  deadline_ = Clock::now() + std::chrono::seconds(seconds);
}

// Appends what the socket has; false when nothing came (eof set at EOF).
bool Connection::read_into(int fd, std::string& into, bool& eof) {
  char buf[65536];
  bool got = false;
  while (true) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      into.append(buf, static_cast<std::size_t>(n));
      got = true;
      if (static_cast<std::size_t>(n) < sizeof buf || into.size() > kBackpressure) return got;
      continue;
    }
    if (n == 0) {
      eof = true;
      return got;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) eof = true;  // reset: as good as closed
    return got;
  }
}

void Connection::flush(int fd, std::string& from) {
  while (!from.empty() && fd >= 0) {
    ssize_t n = send(fd, from.data(), from.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      from.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    from.clear();  // the peer is gone
    close_now();
    return;
  }
}

// To the original destination, from this host's own address: an idle
// connection of the pool when there is one.
bool Connection::connect_upstream() {
  // A handle of an earlier server connection may have an event coming
  // this round: it is freed after it.
  if (upstream_io_) state_.retired.push_back(std::move(upstream_io_));
  if (auto pooled = state_.pool.take(destination_, state_.retired); pooled.fd >= 0) {
    // Still in this worker's epoll for EPOLLIN, with its handle: no
    // epoll_ctl. The request goes out right away (update_interest);
    // EPOLLOUT only joins when the socket's buffer is full.
    upstream_fd_ = pooled.fd;
    upstream_io_ = std::move(pooled.handle);
    *upstream_io_ = IoHandle{IoHandle::Kind::Upstream, this, slot_};
    upstream_events_ = EPOLLIN;
    connecting_ = false;
    upstream_eof_ = false;
    return true;
  }
  int fd = socket(destination_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    answer(502, "no socket for the server", true);
    return false;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  socklen_t len = destination_.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&destination_), len) != 0 &&
      errno != EINPROGRESS) {
    close(fd);
    answer(502, "cannot connect to " + server_addr_, true);
    record("refused", "cannot connect to the server");
    return false;
  }
  upstream_fd_ = fd;
  upstream_io_ = std::make_unique<IoHandle>(IoHandle{IoHandle::Kind::Upstream, this, slot_});
  connecting_ = true;
  upstream_eof_ = false;
  epoll_event ev{};
  ev.events = upstream_events_ = EPOLLOUT;
  ev.data.ptr = upstream_io_.get();
  epoll_ctl(state_.epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  deadline_in(state_.limits.upstream_connect_timeout_seconds);
  return true;
}

bool Connection::tunnel_step() {
  bool progress = !from_client_.empty() || !from_upstream_.empty();
  to_upstream_ += from_client_;
  from_client_.clear();
  to_client_ += from_upstream_;
  from_upstream_.clear();
  if (client_eof_ && to_upstream_.empty() && upstream_fd_ >= 0 && !connecting_)
    shutdown(upstream_fd_, SHUT_WR);
  if (upstream_eof_ && to_client_.empty()) shutdown(client_fd_, SHUT_WR);
  if (client_eof_ && upstream_eof_ && to_client_.empty()) close_now();
  return progress;
}

void Connection::on_client(std::uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_into(client_fd_, from_client_, client_eof_);
  if (mode_ == Mode::Done) return;
  if (events & EPOLLOUT) flush(client_fd_, to_client_);
  if (mode_ == Mode::Done) return;
  if (mode_ == Mode::Tunnel) deadline_in(idle_seconds());
  // A request body still coming in is progress, not a stalled server.
  if (mode_ == Mode::Http && request_ == Request::Body) deadline_in(upstream_seconds());
  drive();
}

void Connection::on_upstream(std::uint32_t events) {
  if (connecting_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(upstream_fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      if (mode_ == Mode::Http && response_ == Response::Head) {
        answer(502, "cannot connect to " + server_addr_ + ": " + strerror(err), true);
        record("refused", std::string("cannot connect to the server: ") + strerror(err));
      } else {
        close_now();
      }
      drive();
      return;
    }
    connecting_ = false;
    deadline_in(mode_ == Mode::Tunnel ? idle_seconds() : upstream_seconds());
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    if (read_into(upstream_fd_, from_upstream_, upstream_eof_))
      deadline_in(mode_ == Mode::Tunnel ? idle_seconds() : upstream_seconds());
  if (mode_ == Mode::Done) return;
  if (!connecting_) flush(upstream_fd_, to_upstream_);
  if (mode_ == Mode::Done) return;
  if (upstream_eof_ && mode_ == Mode::Http) {
    if (response_ == Response::Head && from_upstream_.empty()) {
      answer(502, "the server closed the connection without an answer", true);
      record("refused", "the server closed the connection without an answer");
    } else if (response_ == Response::None) {
      close(upstream_fd_);  // an idle kept-alive connection: the next request makes another
      upstream_fd_ = -1;
      upstream_eof_ = false;
    }
  }
  drive();
  if (upstream_eof_ && mode_ == Mode::Http && response_ != Response::None) close_after_flush();
}

void Connection::on_tick(Clock::time_point now) {
  if (mode_ == Mode::Done || now < deadline_) return;
  if (mode_ == Mode::Http && request_ == Request::Head && response_ == Response::None &&
      head_started_) {
    rec_ = L7Record{};
    rec_.kind = "http";
    answer(408, "the request head did not arrive in time", true);
    record("refused", "the request head did not arrive in time");
  } else if (mode_ == Mode::Http && response_ == Response::Head && rec_.response_bytes == 0) {
    answer(504, "the server did not answer in time", true);
    record("refused", connecting_ ? "connecting to the server timed out"
                                  : "the server did not answer in time");
  } else {
    close_now();  // idle, or a stalled transfer
  }
  if (mode_ == Mode::Closing) deadline_in(5);  // the answer gets this long to leave
  drive();
}

// A server connection with no exchange pending goes to the pool.
void Connection::park_upstream() {
  if (upstream_fd_ < 0 || mode_ != Mode::Http || !upstream_reusable_ || connecting_ ||
      upstream_eof_ || response_ != Response::None || !to_upstream_.empty() ||
      !from_upstream_.empty())
    return;
  // It stays in epoll, for reading only (the pool closes it when the
  // server does).
  if (upstream_events_ != EPOLLIN) {
    epoll_event ev{};
    ev.events = upstream_events_ = EPOLLIN;
    ev.data.ptr = upstream_io_.get();
    epoll_ctl(state_.epoll_fd, EPOLL_CTL_MOD, upstream_fd_, &ev);
  }
  state_.pool.give(destination_, upstream_fd_, std::move(upstream_io_), state_.retired);
  upstream_fd_ = -1;
}

void Connection::close_after_flush() {
  if (mode_ == Mode::Done) return;
  park_upstream();
  mode_ = Mode::Closing;
  if (upstream_fd_ >= 0) {
    close(upstream_fd_);
    upstream_fd_ = -1;
  }
}

void Connection::close_now() {
  if (client_fd_ >= 0) close(client_fd_);
  if (upstream_fd_ >= 0) close(upstream_fd_);
  client_fd_ = upstream_fd_ = -1;
  mode_ = Mode::Done;
}

void Connection::update_interest() {
  // Write what is ready now rather than wait a round of epoll for it.
  if (!to_client_.empty()) flush(client_fd_, to_client_);
  if (!connecting_ && !to_upstream_.empty()) flush(upstream_fd_, to_upstream_);
  if (mode_ == Mode::Closing && to_client_.empty()) close_now();
  if (mode_ == Mode::Done) return;
  auto set = [&](int fd, std::uint32_t& current, std::uint32_t want, IoHandle& io) {
    if (fd < 0 || want == current) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = &io;
    epoll_ctl(state_.epoll_fd, EPOLL_CTL_MOD, fd, &ev);
    current = want;
  };
  bool closing = mode_ == Mode::Closing;
  std::uint32_t client = 0, upstream = 0;
  if (!closing && !client_eof_ && to_upstream_.size() < kBackpressure &&
      from_client_.size() < kBackpressure)
    client |= EPOLLIN;
  if (!to_client_.empty()) client |= EPOLLOUT;
  if (!closing && !upstream_eof_ && !connecting_ && to_client_.size() < kBackpressure)
    upstream |= EPOLLIN;
  if (connecting_ || !to_upstream_.empty()) upstream |= EPOLLOUT;
  set(client_fd_, client_events_, client, client_io_);
  if (upstream_io_) set(upstream_fd_, upstream_events_, upstream, *upstream_io_);
}

}  // namespace sluice::proxy
