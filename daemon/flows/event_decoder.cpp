#include "flows/event_decoder.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <time.h>

#include "sluice/abi.h"

namespace sluice::flows {

namespace {

std::string address_text(const std::uint8_t* a, std::uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SLUICE_FAMILY_IPV4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return buf;
}

const char* chain_name(std::uint8_t chain) {
  switch (chain) {
    case SLUICE_CHAIN_INPUT: return "input";
    case SLUICE_CHAIN_FORWARD: return "forward";
    case SLUICE_CHAIN_OUTPUT: return "output";
  }
  return "";
}

const char* action_name(std::uint8_t action) {
  switch (action) {
    case SLUICE_ACTION_ACCEPT: return "accept";
    case SLUICE_ACTION_DROP: return "drop";
    case SLUICE_ACTION_REJECT: return "reject";
  }
  return "";
}

std::int64_t clock_ns(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

}  // namespace

const char* drop_reason_name(unsigned reason) {
  static const char* names[] = {"none",     "malformed", "truncated",  "unsupported",   "fragment",  "prefilter",
                                "policy-rule", "policy-default", "ct-invalid", "reject-failed", "nat-failed"};
  static_assert(sizeof names / sizeof *names == SLUICE_DROP_REASON_COUNT);
  return reason < SLUICE_DROP_REASON_COUNT ? names[reason] : "unknown";
}

std::string proto_name(unsigned proto) {
  switch (proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
  }
  return std::to_string(proto);
}

std::int64_t wall_clock_ms(std::uint64_t ktime_ns) {
  // bpf_ktime_get_ns() is CLOCK_MONOTONIC.
  std::int64_t offset = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  return (static_cast<std::int64_t>(ktime_ns) + offset) / 1000000;
}

void EventDecoder::set_rules(std::uint32_t generation, std::shared_ptr<const RuleTable> rules) {
  rules_[generation & 1] = std::move(rules);
}

const std::string& EventDecoder::interface_name(std::uint32_t ifindex) {
  auto it = interfaces_.find(ifindex);
  if (it != interfaces_.end()) return it->second;
  char buf[IF_NAMESIZE] = {};
  std::string name = if_indextoname(ifindex, buf) ? buf : "if" + std::to_string(ifindex);
  return interfaces_.emplace(ifindex, name).first->second;
}

FlowRecord EventDecoder::decode(const sluice_event& e) {
  FlowRecord r;
  r.time_ms = wall_clock_ms(e.ts_ns);
  switch (e.type) {
    case SLUICE_EVENT_NEW_FLOW: r.verdict = Verdict::Allowed; break;
    case SLUICE_EVENT_DROP: r.verdict = Verdict::Dropped; break;
    case SLUICE_EVENT_REJECT: r.verdict = Verdict::Rejected; break;
    case SLUICE_EVENT_AUDIT: r.verdict = Verdict::Audit; break;
    case SLUICE_EVENT_NAT: r.verdict = Verdict::Translated; break;
  }
  r.chain = chain_name(e.chain);
  if (e.type == SLUICE_EVENT_AUDIT) r.action = action_name(e.action);
  if (e.type == SLUICE_EVENT_DROP || e.type == SLUICE_EVENT_REJECT) r.reason = drop_reason_name(e.reason);
  if (!r.chain.empty() && e.type != SLUICE_EVENT_NAT) {
    const auto& table = rules_[e.generation & 1];
    if (e.rule_index == SLUICE_RULE_INDEX_DEFAULT) {
      r.rule = "default";
    } else if (table && e.rule_index < table->rules.size()) {
      r.rule = table->rules[e.rule_index].name;
      r.rule_line = table->rules[e.rule_index].line;
      r.config_file = table->config_file;
    } else {
      r.rule = "#" + std::to_string(e.rule_index);
    }
  }
  r.interface = interface_name(e.ifindex);
  if (e.family == SLUICE_FAMILY_IPV4 || e.family == SLUICE_FAMILY_IPV6) {
    r.proto = proto_name(e.proto);
    r.src = address_text(e.src, e.family);
    r.dst = address_text(e.dst, e.family);
    r.sport = ntohs(e.sport);
    r.dport = ntohs(e.dport);
    if (e.nat & (SLUICE_NAT_SNAT | SLUICE_NAT_DNAT)) {
      r.nat = e.nat & SLUICE_NAT_SNAT ? "masquerade" : "port-forward";
      r.nat_addr = address_text(e.nat_addr, e.family);
      r.nat_port = ntohs(e.nat_port);
    }
  }
  return r;
}

}  // namespace sluice::flows
