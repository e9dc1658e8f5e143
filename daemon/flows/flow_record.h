// One entry of the flow log: a decision the datapath reported (or a flow
// that ended), in the words an operator reads: addresses as text, the rule
// by name and by its line in the config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::flows {

enum class Verdict {
  Allowed,     // a new flow accepted
  Dropped,     // a packet dropped
  Rejected,    // a packet dropped and answered
  Audit,       // audit mode let through what the verdict would have stopped
  Translated,  // a flow's source translation decided (masquerade)
  Closed,      // a tracked flow ended (counts and duration set)
};

const char* to_string(Verdict v);
std::optional<Verdict> parse_verdict(const std::string& text);

struct FlowRecord {
  std::uint64_t id = 0;      // increasing; assigned when recorded
  std::int64_t time_ms = 0;  // wall clock, milliseconds since the epoch
  Verdict verdict = Verdict::Allowed;
  std::string chain;            // "input", "forward", "output"; empty before policy
  std::string rule;             // rule name; "default" for the chain default; empty when no rule
  std::uint32_t rule_line = 0;  // the rule's line in config_file; 0 when none
  std::string config_file;
  std::string action;     // audit: the verdict not enforced ("drop", "reject")
  std::string reason;     // drops: why ("policy-rule", "ct-invalid", ...)
  std::string interface;  // where the packet was seen
  std::string proto;      // "tcp", "udp", "icmp", "icmpv6", or the number
  std::string src;
  std::uint16_t sport = 0;
  std::string dst;
  std::uint16_t dport = 0;
  std::string nat;       // "masquerade" or "port-forward"; empty when none
  std::string nat_addr;  // masquerade: the source outside; port-forward: what the client addressed
  std::uint16_t nat_port = 0;
  // Closed flows: original direction [0], replies [1].
  std::uint64_t packets[2] = {0, 0};
  std::uint64_t bytes[2] = {0, 0};
  std::uint64_t duration_ms = 0;
  // Containers at either end (CNI mode): "name (app=web, ...)", "" when
  // the address is no workload's; the identity numbers the datapath saw
  // (live records only; 0 when none).
  std::string src_workload;
  std::string dst_workload;
  std::uint32_t src_identity = 0;
  std::uint32_t dst_identity = 0;
  // The L7 proxy's records (docs/l7.md): one request, WebSocket upgrade
  // or TLS hello each; kind is "" in the datapath's records.
  struct L7 {
    std::string kind;  // "http", "websocket", "http2", "tls", "tcp"
    std::string method, host, path, sni;
    int status = 0;  // the answer's HTTP status, 0 when none
    std::uint64_t request_bytes = 0, response_bytes = 0;
    std::uint64_t latency_us = 0;
  } l7;
};

}  // namespace sluice::flows
