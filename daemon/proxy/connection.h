// One client connection the datapath handed to the proxy, with its
// upstream connection to the original destination: HTTP/1.1 exchanges one
// after the other (keep-alive, pipelined requests answered in order), each
// judged by the rule of the listener it came in by; or, after a WebSocket
// upgrade, an allowed TLS ClientHello or allowed HTTP/2, an opaque tunnel.
// Driven by the event loop (proxy_server.cpp); never blocks.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/chunked_body.h"
#include "proxy/control_messages.h"
#include "proxy/http_policy.h"
#include "proxy/io_handle.h"
#include "proxy/request_head.h"
#include "proxy/upstream_pool.h"

namespace sluice::proxy {

using Clock = std::chrono::steady_clock;

// A rule as connections use it: what it allows, compiled.
struct ActiveRule {
  ProxyRule rule;
  HttpPolicy policy;
  explicit ActiveRule(ProxyRule r) : rule(std::move(r)), policy(rule.l7) {}
};

// What the server shares with its connections.
struct ProxyState {
  config::ProxySettings limits;
  std::map<std::uint16_t, std::shared_ptr<const ActiveRule>> rules;  // by slot
  bool record_allowed = true;
  std::vector<L7Record> records;                 // decided since the last report
  std::map<std::string, RuleCounters> counters;  // by rule, since the last report
  int epoll_fd = -1;
  UpstreamPool pool;
  // Handles let go of this round (io_handle.h): freed after it.
  std::vector<std::unique_ptr<IoHandle>> retired;
};

// Counts a decided request under its rule (every one, recorded or not).
void count(ProxyState& state, const L7Record& r);

class Connection {
 public:
  Connection(ProxyState& state, int client_fd, const sockaddr_storage& client,
             const sockaddr_storage& local, std::uint16_t slot);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void on_client(std::uint32_t events);
  void on_upstream(std::uint32_t events);
  void on_tick(Clock::time_point now);
  bool finished() const { return mode_ == Mode::Done; }
  const std::string& client_address() const { return client_addr_; }

 private:
  enum class Mode { Detect, Http, Tunnel, Closing, Done };
  enum class Request { Head, Body, AwaitResponse };
  enum class Response { None, Head, Body };
  enum class Framing { None, Length, Chunked, UntilClose };

  // connection.cpp: deciding and framing HTTP exchanges.
  void drive();
  bool detect();
  bool http_step();
  bool request_head();
  void start_exchange(const RequestHead& head, std::size_t head_bytes);
  std::optional<std::string> denial(const ActiveRule& rule, const RequestHead& head,
                                    bool& audit_only);
  bool request_body();
  bool response_head();
  bool response_body();
  void finish_exchange();
  void refuse_http2(const ActiveRule& rule);
  void answer(int status, const std::string& reason, bool close);
  void record(const std::string& verdict, const std::string& reason);

  // connection_io.cpp: sockets, tunnels, timeouts.
  bool read_into(int fd, std::string& into, bool& eof);
  void flush(int fd, std::string& from);
  bool connect_upstream();
  bool tunnel_step();
  void close_after_flush();
  void park_upstream();
  void close_now();
  void update_interest();
  void deadline_in(std::uint64_t seconds);
  std::uint64_t idle_seconds() const;
  std::uint64_t upstream_seconds() const;
  const ActiveRule* rule() const;

  ProxyState& state_;
  int client_fd_;
  int upstream_fd_ = -1;
  IoHandle client_io_;
  // Travels with the server connection into the pool and out of it, so
  // that handing one over needs no epoll_ctl.
  std::unique_ptr<IoHandle> upstream_io_;
  std::uint32_t client_events_ = 0, upstream_events_ = 0;
  sockaddr_storage destination_{};
  std::string client_addr_, server_addr_;
  std::uint16_t client_port_ = 0, server_port_ = 0, slot_;

  Mode mode_ = Mode::Detect;
  Request request_ = Request::Head;
  Response response_ = Response::None;
  bool connecting_ = false, client_eof_ = false, upstream_eof_ = false;
  std::string from_client_, to_client_, to_upstream_, from_upstream_;

  // The exchange in progress.
  L7Record rec_;
  bool denied_ = false, upgrade_ = false, close_after_ = false;
  // The client's Connection: close was not passed on (the proxy keeps its
  // side to the server open for the next client): its answer gets one.
  bool add_close_ = false;
  bool response_reusable_ = false;  // the answer leaves the server's connection usable
  bool upstream_reusable_ = false;  // nothing of an exchange is pending on it
  Framing request_framing_ = Framing::None, response_framing_ = Framing::None;
  std::uint64_t request_left_ = 0, response_left_ = 0, body_limit_ = 0;
  std::optional<ChunkedBody> request_chunks_, response_chunks_;
  Clock::time_point exchange_start_, head_start_, deadline_;
  bool head_started_ = false;
};

}  // namespace sluice::proxy
