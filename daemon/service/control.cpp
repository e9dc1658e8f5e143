#include "service/control.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "config/describe.h"
#include "datapath/datapath.h"
#include "flows/event_decoder.h"
#include "flows/flow_json.h"
#include "service/flow_log.h"
#include "service/log.h"
#include "service/service.h"

namespace sluice::service {

namespace {

using nlohmann::json;

// Requests are small; anything larger is refused, not buffered.
constexpr std::size_t kMaxRequest = 64 * 1024;
constexpr int kIoTimeoutSeconds = 2;

json error(const std::string& message) { return {{"ok", false}, {"error", message}}; }

json diagnostics_json(const config::Diagnostics& diags) {
  json out = json::array();
  for (const auto& d : diags)
    out.push_back({{"file", d.where.file}, {"line", d.where.line}, {"column", d.where.column},
                   {"key", d.key}, {"message", d.message}, {"text", d.to_string()}});
  return out;
}

json changes_json(const std::vector<config::Change>& changes) {
  json out = json::array();
  for (const auto& c : changes)
    out.push_back({{"kind", config::to_string(c.kind)}, {"what", c.what}, {"detail", c.detail}});
  return out;
}

std::uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
}

json flows_status(Service& s) {
  const auto& log = *s.flows();
  auto h = log.history_status();
  json history = {{"enabled", h.enabled}, {"path", h.path}, {"written", h.written}, {"lost", h.lost},
                  {"removed_by_retention", h.removed}};
  if (!h.error.empty()) history["error"] = h.error;
  return {{"in_memory", log.ring().size()}, {"memory_capacity", log.ring().capacity()},
          {"last_id", log.ring().last_id()}, {"history", history}};
}

json status(Service& s) {
  json itfs = json::array();
  for (const auto& [name, mode] : s.interfaces()) itfs.push_back({{"name", name}, {"xdp", mode}});
  json maps = json::array();
  std::size_t conntrack_entries = 0;
  for (const auto& m : s.datapath().map_usage()) {
    maps.push_back({{"name", m.name}, {"entries", m.entries}, {"capacity", m.capacity}, {"memory_bytes", m.memory}});
    if (m.name == "conntrack") conntrack_entries = m.entries;
  }
  json out = {{"ok", true},
              {"version", SLUICE_VERSION},
              {"config", s.config_path()},
              {"generation", s.datapath().active_generation()},
              {"rules", s.live().config.rules.size()},
              {"applied_seconds_ago", (monotonic_ns() - s.applied_at_ns()) / 1000000000ull},
              {"interfaces", itfs},
              {"conntrack_entries", conntrack_entries},
              {"conntrack_capacity", SLUICE_MAX_CONNTRACK},
              {"conntrack_high_events", s.conntrack_high_events()},
              {"events_lost", {{"ring_full", s.datapath().events_lost(SLUICE_EVENT_LOST_RING_FULL)},
                               {"rate_limited", s.datapath().events_lost(SLUICE_EVENT_LOST_RATE_LIMITED)}}},
              {"flows", flows_status(s)},
              {"maps", maps}};
  if (auto deadline = s.confirm_deadline()) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(*deadline - Service::Clock::now());
    out["confirm_within_seconds"] = std::max<long>(0, left.count());
  }
  return out;
}

json rules(Service& s) {
  json out = json::array();
  const auto& cfg = s.live().config;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const auto& r = cfg.rules[i];
    auto c = s.datapath().rule_counter(static_cast<std::uint32_t>(i));
    out.push_back({{"index", i},
                   {"name", r.name},
                   {"chain", config::to_string(r.chain)},
                   {"from", config::describe_endpoint(r.from)},
                   {"to", config::describe_endpoint(r.to)},
                   {"match", config::describe_match(r)},
                   {"action", config::to_string(r.action)},
                   {"mode", r.audit ? "audit" : "enforce"},
                   {"line", r.where.line},
                   {"packets", c.packets},
                   {"bytes", c.bytes}});
  }
  json defaults = json::array();
  for (int c = 0; c < config::kChainCount; ++c) {
    auto chain = static_cast<config::Chain>(c);
    auto counter = s.datapath().default_counter(chain);
    defaults.push_back({{"chain", config::to_string(chain)},
                        {"action", config::to_string(cfg.chain_defaults[c])},
                        {"mode", cfg.chain_audit[c] ? "audit" : "enforce"},
                        {"packets", counter.packets},
                        {"bytes", counter.bytes}});
  }
  return {{"ok", true}, {"rules", out}, {"defaults", defaults}};
}

const char* state_name(std::uint8_t state) {
  static const char* names[] = {"new", "syn-sent", "syn-recv", "established", "fin-wait", "closing", "closed"};
  return state < SLUICE_CT_STATE_COUNT ? names[state] : "?";
}

std::string address(const std::uint8_t* a, std::uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SLUICE_FAMILY_IPV4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return buf;
}

json conntrack(Service& s, const std::string& filter) {
  json out = json::array();
  const auto& names = s.live().compiled.rule_names;
  std::uint64_t now = monotonic_ns();
  for (const auto& e : s.datapath().conntrack()) {
    const auto& k = e.key;
    const auto& v = e.value;
    bool a_first = v.originator_is_a;
    std::string src = address(a_first ? k.addr_a : k.addr_b, k.family);
    std::string dst = address(a_first ? k.addr_b : k.addr_a, k.family);
    // The addresses the outside sees, when translated: what the originator
    // connected to (port forward) and what it appears as (masquerade).
    std::string snat = v.nat & SLUICE_NAT_SNAT ? address(v.snat_addr, k.family) : "";
    std::string dnat = v.nat & SLUICE_NAT_DNAT ? address(v.dnat_addr, k.family) : "";
    if (!filter.empty() && filter != src && filter != dst && filter != snat && filter != dnat) continue;
    json nat = json::object();
    if (!snat.empty()) nat["masquerade"] = {{"addr", snat}, {"port", ntohs(v.snat_port)}};
    if (!dnat.empty()) nat["port_forward"] = {{"addr", dnat}, {"port", ntohs(v.dnat_port)}};
    std::string rule;
    if (v.rule_index == SLUICE_RULE_INDEX_DEFAULT)
      rule = std::string("default (") + config::to_string(static_cast<config::Chain>(v.chain)) + ")";
    else if (v.created_ns >= s.applied_at_ns() && v.rule_index < names.size())
      rule = names[v.rule_index];
    else
      rule = "#" + std::to_string(v.rule_index) + " of an earlier ruleset";
    out.push_back({{"proto", k.proto},
                   {"src", src},
                   {"sport", ntohs(a_first ? k.port_a : k.port_b)},
                   {"dst", dst},
                   {"dport", ntohs(a_first ? k.port_b : k.port_a)},
                   {"state", state_name(v.state)},
                   {"chain", config::to_string(static_cast<config::Chain>(v.chain))},
                   {"rule", rule},
                   {"nat", nat},
                   {"packets", {v.packets[0], v.packets[1]}},
                   {"bytes", {v.bytes[0], v.bytes[1]}},
                   {"age_seconds", now > v.created_ns ? (now - v.created_ns) / 1000000000ull : 0},
                   {"idle_seconds", now > v.last_seen_ns ? (now - v.last_seen_ns) / 1000000000ull : 0}});
  }
  return {{"ok", true}, {"entries", out}};
}

json counters(Service& s) {
  json out = json::array();
  for (int r = 1; r < SLUICE_DROP_REASON_COUNT; ++r) {
    auto c = s.datapath().drop_counter(static_cast<sluice_drop_reason>(r));
    out.push_back({{"reason", flows::drop_reason_name(r)}, {"packets", c.packets}, {"bytes", c.bytes}});
  }
  static const char* audit_names[] = {"rule-drop", "rule-reject", "default-drop"};
  static_assert(sizeof audit_names / sizeof *audit_names == SLUICE_AUDIT_REASON_COUNT);
  json audited = json::array();
  for (int r = 0; r < SLUICE_AUDIT_REASON_COUNT; ++r) {
    auto c = s.datapath().audit_counter(static_cast<sluice_audit_reason>(r));
    audited.push_back({{"would", audit_names[r]}, {"packets", c.packets}, {"bytes", c.bytes}});
  }
  static const char* nat_names[] = {"new masquerade", "new port forward", "new hairpin", "rewritten",
                                    "icmp error translated"};
  static_assert(sizeof nat_names / sizeof *nat_names == SLUICE_NAT_COUNTER_COUNT);
  json nat = json::array();
  for (int n = 0; n < SLUICE_NAT_COUNTER_COUNT; ++n) {
    auto c = s.datapath().nat_counter(static_cast<sluice_nat_counter>(n));
    nat.push_back({{"what", nat_names[n]}, {"packets", c.packets}, {"bytes", c.bytes}});
  }
  static const char* fast_names[] = {"forwarded by XDP", "to kernel: no neighbour", "to kernel: TTL",
                                     "to kernel: MTU", "to kernel: route", "to kernel: other",
                                     "new flows by XDP"};
  static_assert(sizeof fast_names / sizeof *fast_names == SLUICE_FAST_COUNTER_COUNT);
  json fast = json::array();
  for (int n = 0; n < SLUICE_FAST_COUNTER_COUNT; ++n) {
    auto c = s.datapath().fastpath_counter(static_cast<sluice_fastpath_counter>(n));
    fast.push_back({{"what", fast_names[n]}, {"packets", c.packets}, {"bytes", c.bytes}});
  }
  return {{"ok", true}, {"drops", out}, {"audited", audited}, {"nat", nat}, {"fast_path", fast}};
}

// Flows are answered in pages; a follower asks again with the last id.
constexpr std::size_t kMaxFlowsPerAnswer = 1000;

std::int64_t wall_ms() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

json flows(Service& s, const json& req) {
  flows::FlowFilter filter;
  if (auto err = flows::filter_from_json(req.value("filter", json()), filter, wall_ms()); !err.empty())
    return error(err);
  std::uint64_t after = 0;
  std::size_t limit = 100;
  if (req.contains("after")) {
    if (!req["after"].is_number_unsigned()) return error("after must be a flow id (a non-negative integer)");
    after = req["after"].get<std::uint64_t>();
  }
  if (req.contains("limit")) {
    const auto& v = req["limit"];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 || v.get<std::uint64_t>() > kMaxFlowsPerAnswer)
      return error("limit must be 1 to " + std::to_string(kMaxFlowsPerAnswer));
    limit = v.get<std::size_t>();
  }
  if (req.contains("newest") && !req["newest"].is_boolean()) return error("newest must be true or false");
  bool newest = req.contains("newest") && req["newest"].get<bool>();
  const auto& log = *s.flows();
  std::uint64_t last = log.ring().last_id();
  json out = json::array();
  for (const auto& r : log.query(filter, after, limit, newest)) out.push_back(flows::to_json(r));
  return {{"ok", true}, {"flows", out}, {"last_id", last}};
}

json dispatch(Service& s, const json& req) {
  if (!req.is_object() || !req.contains("command") || !req["command"].is_string())
    return error("a request is a JSON object with a \"command\" string");
  const std::string cmd = req["command"];
  if (cmd == "status") return status(s);
  if (cmd == "rules") return rules(s);
  if (cmd == "counters") return counters(s);
  if (cmd == "flows") return flows(s, req);
  if (cmd == "conntrack") {
    std::string filter = req.value("filter", "");
    return conntrack(s, filter);
  }
  if (cmd == "apply") {
    std::optional<std::chrono::seconds> confirm;
    if (req.contains("confirm_within_seconds")) {
      const auto& v = req["confirm_within_seconds"];
      if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 || v.get<std::uint64_t>() > 86400)
        return error("confirm_within_seconds must be 1 to 86400");
      confirm = std::chrono::seconds(v.get<std::uint64_t>());
    }
    auto outcome = s.apply_file(confirm);
    if (!outcome.diagnostics.empty())
      return {{"ok", false},
              {"error", "the configuration has errors; the running ruleset stays"},
              {"diagnostics", diagnostics_json(outcome.diagnostics)}};
    json out = {{"ok", true}, {"changes", changes_json(outcome.changes)}};
    if (confirm) out["confirm_within_seconds"] = confirm->count();
    return out;
  }
  if (cmd == "confirm") {
    if (!s.confirm()) return error("no apply is waiting for confirmation");
    return {{"ok", true}};
  }
  if (cmd == "rollback") {
    std::string why;
    if (!s.rollback(why)) return error(why);
    return {{"ok", true}};
  }
  if (cmd == "diff") {
    if (!req.contains("path") || !req["path"].is_string()) return error("diff needs a \"path\"");
    auto loaded = load_ruleset(req["path"].get<std::string>());
    if (!loaded.ruleset)
      return {{"ok", false}, {"error", "the file has errors"}, {"diagnostics", diagnostics_json(loaded.diagnostics)}};
    return {{"ok", true}, {"changes", changes_json(config::diff(s.live().config, loaded.ruleset->config))}};
  }
  return error("unknown command '" + cmd + "'");
}

}  // namespace

std::string handle_request(Service& service, const std::string& request) {
  json req = json::parse(request, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return error("the request is not valid JSON").dump();
  return dispatch(service, req).dump();
}

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

void ControlServer::serve_one(Service& service) {
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
  std::string answer = request.size() > kMaxRequest ? error("request too large").dump()
                                                    : handle_request(service, request);
  answer += "\n";
  for (std::size_t off = 0; off < answer.size();) {
    ssize_t w = write(c, answer.data() + off, answer.size() - off);
    if (w <= 0) break;
    off += static_cast<std::size_t>(w);
  }
  close(c);
}

}  // namespace sluice::service
