#include "api/guarded_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace sluice::api {

namespace {

using Clock = std::chrono::steady_clock;

// Waits until fd is ready for events, at most timeout (EINTR retried).
bool wait_ready(int fd, short events, std::chrono::microseconds timeout) {
  pollfd p{fd, events, 0};
  auto end = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    int rc = poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

std::chrono::microseconds span(time_t sec, time_t usec) {
  return std::chrono::seconds(sec) + std::chrono::microseconds(usec);
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
    port = ntohs(a.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
    port = ntohs(a.sin6_port);
  }
  ip = text;
}

// The connection this thread serves (client_hung_up), while it does.
thread_local int serving_fd = -1;

struct ServingConnection {
  explicit ServingConnection(int fd) { serving_fd = fd; }
  ~ServingConnection() { serving_fd = -1; }
  ServingConnection(const ServingConnection&) = delete;
  ServingConnection& operator=(const ServingConnection&) = delete;
};

struct Timeouts {
  std::chrono::microseconds read, write;
};

// A connection as cpp-httplib reads and writes it: plain, or TLS when ssl.
// Reads are buffered: cpp-httplib reads request lines a byte at a time.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int fd, SSL* ssl, Timeouts t) : fd_(fd), ssl_(ssl), t_(t) {}

  bool is_readable() const override {
    return pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0) || wait_ready(fd_, POLLIN, t_.read);
  }
  bool is_writable() const override { return wait_ready(fd_, POLLOUT, t_.write); }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ == len_) {
      if (!is_readable()) return -1;
      ssize_t n = receive(buffer_, sizeof buffer_);
      if (n <= 0) return n;
      pos_ = 0;
      len_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, len_ - pos_);
    std::memcpy(ptr, buffer_ + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    if (!ssl_) {
      for (;;) {
        ssize_t n = send(fd_, ptr, size, MSG_NOSIGNAL);
        if (n >= 0 || errno != EINTR) return n;
      }
    }
    int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
    return n > 0 ? n : -1;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  ssize_t receive(char* ptr, size_t size) {
    if (!ssl_) {
      for (;;) {
        ssize_t n = recv(fd_, ptr, size, 0);
        if (n >= 0 || errno != EINTR) return n;
      }
    }
    int n = SSL_read(ssl_, ptr, static_cast<int>(size));
    if (n > 0) return n;
    return SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }

  int fd_;
  SSL* ssl_;
  Timeouts t_;
  char buffer_[4096];
  size_t pos_ = 0, len_ = 0;
};

// What both server classes do with a connection: admit it (or refuse it
// with the refusal given), then serve requests on it until it is closed,
// idle past the keep-alive timeout, or the server stops.
template <typename Base>
class Guarded : public Base {
 public:
  template <typename... Args>
  explicit Guarded(ConnectionGate gate, Args&&... args)
      : Base(std::forward<Args>(args)...), gate_(std::move(gate)) {}

 protected:
  Timeouts timeouts() const {
    return {span(this->read_timeout_sec_, this->read_timeout_usec_),
            span(this->write_timeout_sec_, this->write_timeout_usec_)};
  }

  // The next request's first byte, within the keep-alive timeout; polled
  // in short steps so that a stopping server ends idle connections.
  bool next_request(int fd) {
    auto end = Clock::now() + std::chrono::seconds(this->keep_alive_timeout_sec_);
    while (this->svr_sock_ != INVALID_SOCKET && Clock::now() < end)
      if (wait_ready(fd, POLLIN, std::chrono::milliseconds(100))) return true;
    return false;
  }

  void serve(int fd, SSL* ssl) {
    ServingConnection serving(fd);
    ConnectionStream stream(fd, ssl, timeouts());
    for (auto left = this->keep_alive_max_count_; left > 0 && next_request(fd); --left) {
      bool closed = false;
      if (!this->process_request(stream, left == 1, closed, nullptr) || closed) break;
    }
  }

  std::shared_ptr<void> admit(int fd) {
    // Bounded reads and writes from the start (the TLS handshake too).
    auto t = timeouts();
    timeval rcv{static_cast<time_t>(t.read.count() / 1000000),
                static_cast<suseconds_t>(t.read.count() % 1000000)};
    timeval snd{static_cast<time_t>(t.write.count() / 1000000),
                static_cast<suseconds_t>(t.write.count() % 1000000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
    std::string ip;
    int port = 0;
    address_of(fd, true, ip, port);
    return gate_(ip);
  }

  static void finish(int fd) {
    shutdown(fd, SHUT_RDWR);
    close(fd);
  }

 private:
  ConnectionGate gate_;
};

class GuardedServer : public Guarded<httplib::Server> {
 public:
  using Guarded::Guarded;

 private:
  bool process_and_close_socket(socket_t fd) override {
    auto admitted = admit(fd);
    if (!admitted) {
      static const std::string body =
          R"({"ok":false,"code":503,"error":"too many connections from this address; close some and retry"})";
      static const std::string refusal =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
          "Connection: close\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      [[maybe_unused]] auto sent =
          send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      finish(fd);
      return false;
    }
    serve(fd, nullptr);
    finish(fd);
    return true;
  }
};

class GuardedTlsServer : public Guarded<httplib::SSLServer> {
 public:
  using Guarded::Guarded;

 private:
  bool process_and_close_socket(socket_t fd) override {
    auto admitted = admit(fd);
    if (!admitted) {  // no handshake spent on a refusal
      finish(fd);
      return false;
    }
    SSL* ssl = SSL_new(ssl_context());
    bool ok = ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1;
    if (ok) {
      serve(fd, ssl);
      SSL_shutdown(ssl);
    }
    if (ssl) SSL_free(ssl);
    finish(fd);
    return ok;
  }
};

}  // namespace

bool client_hung_up() {
  if (serving_fd < 0) return false;
  // A client's FIN or RST; data it may still send does not count.
  pollfd p{serving_fd, POLLRDHUP, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

std::unique_ptr<httplib::Server> make_guarded_server(ConnectionGate gate) {
  return std::make_unique<GuardedServer>(std::move(gate));
}

bool bind_with_full_backlog(httplib::Server& server, const std::string& host, int port) {
  // The library binds and listens in one step; the socket-options hook
  // runs just before, so it notes the socket, and listening again on a
  // listening socket only sets its backlog.
  auto listening = std::make_shared<int>(-1);
  server.set_socket_options([listening](socket_t sock) {
    httplib::default_socket_options(sock);
    *listening = sock;
  });
  bool bound = server.bind_to_port(host, port);
  server.set_socket_options(httplib::default_socket_options);
  return bound && *listening >= 0 && ::listen(*listening, SOMAXCONN) == 0;
}

std::unique_ptr<httplib::Server> make_guarded_tls_server(const std::string& cert,
                                                         const std::string& key,
                                                         ConnectionGate gate) {
  auto server = std::make_unique<GuardedTlsServer>(std::move(gate), cert.c_str(), key.c_str());
  if (!server->is_valid())
    throw std::runtime_error("cannot use the TLS certificate " + cert + " with key " + key);
  return server;
}

}  // namespace sluice::api
