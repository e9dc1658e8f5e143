// What sluiced and the proxy say to each other over their socket pair
// (SOCK_SEQPACKET: one message per packet, listeners as SCM_RIGHTS):
// sluiced sends the L7 rules, the limits and new listeners; the proxy
// sends back a record per request (or TLS hello) and its connection count.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "config/model.h"

namespace sluice::proxy {

struct ProxyRule {
  std::uint16_t slot = 0;
  std::string name;
  bool audit = false;  // requests outside the list pass, recorded as audit
  config::L7Policy l7;
};

// A listener handed over with a config message, in the order of its fds.
struct ListenerSlot {
  std::uint16_t slot = 0;
  int family = 4;  // 4 or 6
};

struct ProxyConfig {
  config::ProxySettings limits;
  // [flows] events = "all": a record for every request; else only for the
  // ones not allowed (counters count them all either way).
  bool record_allowed = true;
  std::vector<ProxyRule> rules;         // the whole set: rules not named are gone
  std::vector<ListenerSlot> listeners;  // fds that come with this message
};

// One request (or TLS hello, or refused connection) the proxy decided.
struct L7Record {
  std::int64_t time_ms = 0;
  std::uint16_t slot = 0;
  std::string rule;
  std::string verdict;  // "allowed", "denied", "audit", "refused"
  std::string reason;   // why denied or refused
  std::string kind;     // "http", "websocket", "tls", "http2"
  std::string client;
  std::uint16_t client_port = 0;
  std::string server;
  std::uint16_t server_port = 0;
  std::string method, host, path, sni;
  int status = 0;  // the answer's HTTP status; 0 when none
  std::uint64_t request_bytes = 0, response_bytes = 0;
  std::uint64_t latency_us = 0;  // from the request's head to its answer's end
};

// Upper bounds (seconds) of the latency histogram's buckets; +Inf beyond.
inline constexpr double kLatencyBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
inline constexpr std::size_t kLatencyBucketCount = std::size(kLatencyBuckets) + 1;

// What one rule's requests came to since the last report (deltas).
struct RuleCounters {
  std::string rule;
  std::uint64_t allowed = 0, denied = 0, audit = 0, refused = 0;
  std::vector<std::uint64_t> latency_buckets;  // kLatencyBucketCount, not cumulative
  std::uint64_t latency_sum_us = 0;
};

// Adds delta's counts to total (the counts of the same rule).
void accumulate(RuleCounters& total, const RuleCounters& delta);

struct ProxyReport {
  std::vector<L7Record> records;
  std::vector<RuleCounters> counters;
  std::uint64_t active_connections = 0;
};

std::string encode(const ProxyConfig& c);
std::string encode(const ProxyReport& r);
// Throw std::invalid_argument on a message that is not one.
ProxyConfig decode_config(const std::string& text);
ProxyReport decode_report(const std::string& text);

// A message with fds over a SOCK_SEQPACKET socket. send: false when the
// peer is gone. receive: false at the peer's end (EOF); throws
// std::system_error on other errors; fds received are the caller's.
bool send_message(int sock, const std::string& text, const std::vector<int>& fds = {});
bool receive_message(int sock, std::string& text, std::vector<int>& fds);

// The largest message either side sends (sockets are sized for it).
inline constexpr std::size_t kMaxControlMessage = 4u << 20;

}  // namespace sluice::proxy
