// Client of the connection-rate benchmark (tests/bench/connrate.py): short
// TCP connections, each one request and its answer, as a web client that
// does not keep connections alive makes them. CONCURRENCY connections are
// in flight at all times, spread round-robin over the client addresses;
// every connection: non-blocking connect, one HTTP/1.1 request, read the
// whole answer, close.
//
//   connrate SERVER PORT SECONDS CONCURRENCY SOURCE...
//     SOURCE: client addresses to bind to (the kernel picks the port)
//   prints "completed N failed F connect_p50_us X connect_p99_us Y"
//
// Connect time is from connect() to the socket turning writable: the
// SYN's way through the router, where a new flow is decided, and back.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr char kRequest[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

// Whether buffer holds a whole answer: headers and Content-Length bytes.
bool whole_answer(const std::string& buffer) {
  std::size_t end = buffer.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::size_t at = buffer.find("Content-Length: ");
  std::size_t length = at < end ? std::strtoul(buffer.c_str() + at + 16, nullptr, 10) : 0;
  return buffer.size() >= end + 4 + length;
}

struct Connection {
  int fd = -1;
  bool connected = false;
  std::string answer;
  Clock::time_point started;
};

struct Totals {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::vector<std::uint32_t> connect_us;
};

class Client {
 public:
  Client(sockaddr_in server, std::vector<in_addr> sources, std::size_t concurrency)
      : server_(server),
        sources_(std::move(sources)),
        slots_(concurrency),
        epoll_(epoll_create1(0)) {}
  ~Client() {
    for (auto& c : slots_)
      if (c.fd >= 0) close(c.fd);
    close(epoll_);
  }

  void run(double seconds, Totals& totals) {
    auto end = Clock::now() + std::chrono::duration<double>(seconds);
    std::vector<epoll_event> events(slots_.size());
    while (Clock::now() < end) {
      // Idle slots (new, finished, or whose socket could not start).
      for (std::size_t slot = 0; slot < slots_.size(); ++slot)
        if (slots_[slot].fd < 0 && !open(slot)) ++totals.failed;
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) advance(events[i].data.u64, events[i].events, totals);
    }
  }

 private:
  bool open(std::size_t slot) {
    Connection& c = slots_[slot];
    c = Connection{};
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c.fd < 0) return false;
    int one = 1;
    // The port is chosen at connect(), per destination, not at bind().
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr = sources_[next_source_++ % sources_.size()];
    c.started = Clock::now();
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = slot;
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0 ||
        (connect(c.fd, reinterpret_cast<const sockaddr*>(&server_), sizeof(server_)) != 0 &&
         errno != EINPROGRESS) ||
        epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      close(c.fd);
      c.fd = -1;
      return false;
    }
    return true;
  }

  // Moves a connection along after epoll reported events on it.
  void advance(std::size_t slot, std::uint32_t events, Totals& totals) {
    Connection& c = slots_[slot];
    if (c.fd < 0) return;
    if (!c.connected) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) return finish(c, false, totals);
      c.connected = true;
      totals.connect_us.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - c.started).count()));
      if (write(c.fd, kRequest, sizeof(kRequest) - 1) != sizeof(kRequest) - 1)
        return finish(c, false, totals);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = slot;
      epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
      return;
    }
    char buf[4096];
    for (;;) {
      ssize_t n = read(c.fd, buf, sizeof(buf));
      if (n > 0) {
        c.answer.append(buf, static_cast<std::size_t>(n));
        // The client closes first, as a browser done with a page does:
        // its side keeps the TIME_WAIT, the server's listener stays clean.
        if (whole_answer(c.answer))
          return finish(c, c.answer.rfind("HTTP/1.1 200", 0) == 0, totals);
        continue;
      }
      if (n < 0 && errno == EAGAIN) return;
      return finish(c, false, totals);  // closed before a whole answer, or failed
    }
  }

  void finish(Connection& c, bool ok, Totals& totals) {
    ++(ok ? totals.completed : totals.failed);
    close(c.fd);
    c.fd = -1;
  }

  sockaddr_in server_;
  std::vector<in_addr> sources_;
  std::vector<Connection> slots_;
  int epoll_;
  std::size_t next_source_ = 0;
};

std::uint32_t percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: connrate SERVER PORT SECONDS CONCURRENCY SOURCE...\n");
    return 2;
  }
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  std::vector<in_addr> sources;
  bool ok = inet_pton(AF_INET, argv[1], &server.sin_addr) == 1;
  for (int i = 5; i < argc && ok; ++i) {
    in_addr a{};
    ok = inet_pton(AF_INET, argv[i], &a) == 1;
    sources.push_back(a);
  }
  double seconds = std::atof(argv[3]);
  long concurrency = std::atol(argv[4]);
  if (!ok || seconds <= 0 || concurrency < 1 || concurrency > 10000) {
    std::fprintf(stderr, "connrate: bad address, duration or concurrency\n");
    return 2;
  }
  Totals totals;
  Client(server, sources, static_cast<std::size_t>(concurrency)).run(seconds, totals);
  std::printf("completed %llu failed %llu connect_p50_us %u connect_p99_us %u\n",
              static_cast<unsigned long long>(totals.completed),
              static_cast<unsigned long long>(totals.failed), percentile(totals.connect_us, 0.50),
              percentile(totals.connect_us, 0.99));
  return 0;
}
