#include "flows/event_decoder.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <time.h>

#include <algorithm>
#include <iterator>

#include "sluice/abi.h"

namespace sluice::flows {

namespace {

const char* chain_name(std::uint8_t chain) {
  switch (chain) {
    case SLUICE_CHAIN_INPUT:
      return "input";
    case SLUICE_CHAIN_FORWARD:
      return "forward";
    case SLUICE_CHAIN_OUTPUT:
      return "output";
  }
  return "";
}

const char* action_name(std::uint8_t action) {
  switch (action) {
    case SLUICE_ACTION_ACCEPT:
      return "accept";
    case SLUICE_ACTION_DROP:
      return "drop";
    case SLUICE_ACTION_REJECT:
      return "reject";
  }
  return "";
}

std::int64_t clock_ns(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

}  // namespace

std::string address_text(const std::uint8_t* a, std::uint8_t family) {
  if (family != SLUICE_FAMILY_IPV4) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, a, buf, sizeof buf);
    return buf;
  }
  // glibc's inet_ntop formats IPv4 with sprintf: at a few hundred thousand
  // records a second that was most of the decoding time.
  char buf[16];
  char* p = buf;
  for (int i = 0; i < 4; ++i) {
    unsigned v = a[i];
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
    if (i < 3) *p++ = '.';
  }
  return std::string(buf, p);
}

const char* drop_reason_name(unsigned reason) {
  static const char* names[] = {
      "none",       "malformed",   "truncated",        "unsupported", "fragment",
      "prefilter",  "policy-rule", "policy-default",   "ct-invalid",  "reject-failed",
      "nat-failed", "spoofed",     "proxy-unavailable"};
  static_assert(sizeof names / sizeof *names == SLUICE_DROP_REASON_COUNT);
  return reason < SLUICE_DROP_REASON_COUNT ? names[reason] : "unknown";
}

std::string proto_name(unsigned proto) {
  switch (proto) {
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 1:
      return "icmp";
    case 58:
      return "icmpv6";
  }
  return std::to_string(proto);
}

std::int64_t wall_clock_ms(std::uint64_t ktime_ns) {
  // bpf_ktime_get_ns() is CLOCK_MONOTONIC.
  // In milliseconds: a kernel time of any value (a corrupt record) cannot overflow.
  std::int64_t offset_ms = (clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC)) / 1000000;
  return static_cast<std::int64_t>(ktime_ns / 1000000) + offset_ms;
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

void EventDecoder::name_rule(FlowRecord& r, std::uint32_t rule_index, int generation) const {
  const auto* table = generation >= 0 ? rules_[generation & 1].get() : nullptr;
  if (rule_index == SLUICE_RULE_INDEX_DEFAULT) {
    r.rule = "default";
  } else if (table && rule_index < table->rules.size()) {
    r.rule = table->rules[rule_index].name;
    r.rule_line = table->rules[rule_index].line;
    r.config_file = table->config_file;
  } else {
    r.rule = "#" + std::to_string(rule_index);
  }
}

bool EventDecoder::logged(const sluice_event& e) const {
  if (e.chain == SLUICE_EVENT_NO_CHAIN || e.type == SLUICE_EVENT_NAT) return false;
  const auto* table = rules_[e.generation & 1].get();
  return table && e.rule_index < table->rules.size() && table->rules[e.rule_index].log;
}

bool conntrack_expired(const sluice_ct_key& key, const sluice_ct_entry& entry,
                       std::uint64_t now_ns) {
  std::uint64_t limit = sluice_ct_timeout_seconds(key.proto, entry.state) * 1000000000ull;
  return now_ns > entry.last_seen_ns && now_ns - entry.last_seen_ns > limit;
}

FlowRecord EventDecoder::closed(const sluice_ct_key& k, const sluice_ct_entry& v, int generation) {
  FlowRecord r;
  r.verdict = Verdict::Closed;
  r.time_ms = wall_clock_ms(v.last_seen_ns);
  r.chain = chain_name(v.chain);
  name_rule(r, v.rule_index, generation);
  r.interface = interface_name(v.in_ifindex);
  r.proto = proto_name(k.proto);
  bool a_first = v.originator_is_a;
  r.src = address_text(a_first ? k.addr_a : k.addr_b, k.family);
  r.dst = address_text(a_first ? k.addr_b : k.addr_a, k.family);
  r.sport = ntohs(a_first ? k.port_a : k.port_b);
  r.dport = ntohs(a_first ? k.port_b : k.port_a);
  if (v.nat & SLUICE_NAT_SNAT) {
    r.nat = "masquerade";
    r.nat_addr = address_text(v.snat_addr, k.family);
    r.nat_port = ntohs(v.snat_port);
  } else if (v.nat & SLUICE_NAT_DNAT) {
    r.nat = "port-forward";
    r.nat_addr = address_text(v.dnat_addr, k.family);
    r.nat_port = ntohs(v.dnat_port);
  }
  for (int d = 0; d < 2; ++d) {
    r.packets[d] = v.packets[d];
    r.bytes[d] = v.bytes[d];
  }
  r.duration_ms = v.last_seen_ns > v.created_ns ? (v.last_seen_ns - v.created_ns) / 1000000 : 0;
  if (workloads_) {
    r.src_workload = workloads_->describe(r.src);
    r.dst_workload = workloads_->describe(r.dst);
  }
  return r;
}

void EventDecoder::decode(const sluice_event& e, std::vector<FlowRecord>& out) {
  if (e.type != SLUICE_EVENT_NEW_FLOW || !(e.nat & SLUICE_NAT_SNAT)) {
    out.push_back(decode_one(e));
    return;
  }
  sluice_event flow = e;
  flow.nat = 0;
  flow.nat_port = 0;
  std::fill(std::begin(flow.nat_addr), std::end(flow.nat_addr), 0);
  out.push_back(decode_one(flow));
  // The translation as tc's own NAT event would carry it.
  sluice_event nat = e;
  nat.type = SLUICE_EVENT_NAT;
  nat.ifindex = e.out_ifindex;
  nat.rule_index = SLUICE_RULE_INDEX_DEFAULT;
  nat.generation = 0;
  nat.action = 0;
  nat.out_ifindex = 0;
  out.push_back(decode_one(nat));
}

FlowRecord EventDecoder::decode_one(const sluice_event& e) {
  FlowRecord r;
  r.time_ms = wall_clock_ms(e.ts_ns);
  switch (e.type) {
    case SLUICE_EVENT_NEW_FLOW:
      r.verdict = Verdict::Allowed;
      break;
    case SLUICE_EVENT_DROP:
      r.verdict = Verdict::Dropped;
      break;
    case SLUICE_EVENT_REJECT:
      r.verdict = Verdict::Rejected;
      break;
    case SLUICE_EVENT_AUDIT:
      r.verdict = Verdict::Audit;
      break;
    case SLUICE_EVENT_NAT:
      r.verdict = Verdict::Translated;
      break;
  }
  r.chain = chain_name(e.chain);
  if (e.type == SLUICE_EVENT_AUDIT) r.action = action_name(e.action);
  if (e.type == SLUICE_EVENT_DROP || e.type == SLUICE_EVENT_REJECT)
    r.reason = drop_reason_name(e.reason);
  if (!r.chain.empty() && e.type != SLUICE_EVENT_NAT) name_rule(r, e.rule_index, e.generation & 1);
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
    r.src_identity = e.src_identity;
    r.dst_identity = e.dst_identity;
    if (workloads_) {
      r.src_workload = workloads_->describe(r.src, e.src_identity);
      r.dst_workload = workloads_->describe(r.dst, e.dst_identity);
    }
  }
  return r;
}

}  // namespace sluice::flows
