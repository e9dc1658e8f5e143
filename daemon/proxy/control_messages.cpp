#include "proxy/control_messages.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

namespace sluice::config {

// JSON forms of the config parts the proxy needs (nlohmann's ADL hooks).
void to_json(nlohmann::json& j, const HttpMatch& m) {
  j = {{"method", m.method}, {"path", m.path}, {"host", m.host}, {"headers", m.headers}};
}
void from_json(const nlohmann::json& j, HttpMatch& m) {
  m.method = j.at("method").get<std::string>();
  m.path = j.at("path").get<std::string>();
  m.host = j.at("host").get<std::string>();
  m.headers = j.at("headers").get<std::map<std::string, std::string>>();
}
void to_json(nlohmann::json& j, const L7Policy& p) {
  j = {{"http", p.http},
       {"tls_sni", p.tls_sni},
       {"websocket", p.websocket},
       {"http2_opaque", p.http2_opaque},
       {"idle_timeout", p.idle_timeout_seconds},
       {"upstream_timeout", p.upstream_timeout_seconds},
       {"max_body_bytes", p.max_body_bytes}};
}
void from_json(const nlohmann::json& j, L7Policy& p) {
  p.http = j.at("http").get<std::vector<HttpMatch>>();
  p.tls_sni = j.at("tls_sni").get<std::vector<std::string>>();
  p.websocket = j.at("websocket").get<bool>();
  p.http2_opaque = j.at("http2_opaque").get<bool>();
  p.idle_timeout_seconds = j.at("idle_timeout").get<std::uint64_t>();
  p.upstream_timeout_seconds = j.at("upstream_timeout").get<std::uint64_t>();
  p.max_body_bytes = j.at("max_body_bytes").get<std::uint64_t>();
}
void to_json(nlohmann::json& j, const ProxySettings& s) {
  j = {{"user", s.user},
       {"max_request_line", s.max_request_line},
       {"max_header_bytes", s.max_header_bytes},
       {"max_headers", s.max_headers},
       {"max_body_bytes", s.max_body_bytes},
       {"header_timeout", s.header_timeout_seconds},
       {"idle_timeout", s.idle_timeout_seconds},
       {"upstream_connect_timeout", s.upstream_connect_timeout_seconds},
       {"upstream_timeout", s.upstream_timeout_seconds},
       {"max_connections", s.max_connections},
       {"max_connections_per_source", s.max_connections_per_source}};
}
void from_json(const nlohmann::json& j, ProxySettings& s) {
  s.user = j.at("user").get<std::string>();
  s.max_request_line = j.at("max_request_line").get<std::size_t>();
  s.max_header_bytes = j.at("max_header_bytes").get<std::size_t>();
  s.max_headers = j.at("max_headers").get<std::size_t>();
  s.max_body_bytes = j.at("max_body_bytes").get<std::uint64_t>();
  s.header_timeout_seconds = j.at("header_timeout").get<std::uint64_t>();
  s.idle_timeout_seconds = j.at("idle_timeout").get<std::uint64_t>();
  s.upstream_connect_timeout_seconds = j.at("upstream_connect_timeout").get<std::uint64_t>();
  s.upstream_timeout_seconds = j.at("upstream_timeout").get<std::uint64_t>();
  s.max_connections = j.at("max_connections").get<std::size_t>();
  s.max_connections_per_source = j.at("max_connections_per_source").get<std::size_t>();
}

}  // namespace sluice::config

namespace sluice::proxy {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ProxyRule, slot, name, audit, l7)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ListenerSlot, slot, family)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RuleCounters, rule, allowed, denied, audit, refused,
                                   latency_buckets, latency_sum_us)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(L7Record, time_ms, slot, rule, verdict, reason, kind, client,
                                   client_port, server, server_port, method, host, path, sni,
                                   status, request_bytes, response_bytes, latency_us)

std::string encode(const ProxyConfig& c) {
  return nlohmann::json{{"type", "config"},
                        {"limits", c.limits},
                        {"record_allowed", c.record_allowed},
                        {"rules", c.rules},
                        {"listeners", c.listeners}}
      .dump();
}

std::string encode(const ProxyReport& r) {
  return nlohmann::json{{"type", "report"},
                        {"records", r.records},
                        {"counters", r.counters},
                        {"active_connections", r.active_connections}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

nlohmann::json parse_typed(const std::string& text, const char* type) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("type", "") != type)
    throw std::invalid_argument(std::string("not a ") + type + " message");
  return j;
}

}  // namespace

ProxyConfig decode_config(const std::string& text) {
  auto j = parse_typed(text, "config");
  try {
    ProxyConfig c;
    c.limits = j.at("limits").get<config::ProxySettings>();
    c.record_allowed = j.at("record_allowed").get<bool>();
    c.rules = j.at("rules").get<std::vector<ProxyRule>>();
    c.listeners = j.at("listeners").get<std::vector<ListenerSlot>>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("a malformed config message: ") + e.what());
  }
}

ProxyReport decode_report(const std::string& text) {
  auto j = parse_typed(text, "report");
  try {
    ProxyReport r;
    r.records = j.at("records").get<std::vector<L7Record>>();
    r.counters = j.at("counters").get<std::vector<RuleCounters>>();
    r.active_connections = j.at("active_connections").get<std::uint64_t>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("a malformed report message: ") + e.what());
  }
}

namespace {

constexpr std::size_t kMaxFds = 64;

}  // namespace

bool send_message(int sock, const std::string& text, const std::vector<int>& fds) {
  if (fds.size() > kMaxFds) throw std::invalid_argument("too many fds in one message");
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET) return false;
    throw std::system_error(errno, std::generic_category(), "sending to the proxy channel");
  }
  return true;
}

bool receive_message(int sock, std::string& text, std::vector<int>& fds) {
  text.resize(kMaxControlMessage);
  iovec iov{text.data(), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return false;
    throw std::system_error(errno, std::generic_category(), "reading the proxy channel");
  }
  fds.clear();
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  text.resize(static_cast<std::size_t>(n));
  if (n == 0 && fds.empty()) return false;
  if (msg.msg_flags & MSG_TRUNC) throw std::invalid_argument("a control message too large");
  return true;
}

void accumulate(RuleCounters& total, const RuleCounters& delta) {
  total.rule = delta.rule;
  total.allowed += delta.allowed;
  total.denied += delta.denied;
  total.audit += delta.audit;
  total.refused += delta.refused;
  total.latency_sum_us += delta.latency_sum_us;
  total.latency_buckets.resize(kLatencyBucketCount);
  for (std::size_t i = 0; i < delta.latency_buckets.size() && i < kLatencyBucketCount; ++i)
    total.latency_buckets[i] += delta.latency_buckets[i];
}

}  // namespace sluice::proxy
