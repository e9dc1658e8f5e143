#include "service/command_handlers.h"

#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "auth/credentials.h"
#include "common/log.h"
#include "config/describe.h"
#include "config/parser.h"
#include "datapath/datapath.h"
#include "datapath/object_digests.h"
#include "flows/event_decoder.h"
#include "flows/flow_json.h"
#include "net/link_stats.h"
#include "policy/abi_values.h"
#include "policy/ruleset.h"
#include "service/cni_handlers.h"
#include "service/requests.h"
#include "service/service.h"
#include "service/status_handler.h"
#include "store/database.h"
#include "store/flow_log.h"
#include "store/state_store.h"

namespace sluice::service {

namespace {

using nlohmann::json;

json error(const std::string& message, int code = 400) { return refusal(message, code); }

json diagnostics_json(const config::Diagnostics& diags) {
  json out = json::array();
  for (const auto& d : diags)
    out.push_back({{"file", d.where.file},
                   {"line", d.where.line},
                   {"column", d.where.column},
                   {"key", d.key},
                   {"message", d.message},
                   {"text", d.to_string()}});
  return out;
}

json changes_json(const std::vector<config::Change>& changes) {
  json out = json::array();
  for (const auto& c : changes)
    out.push_back({{"kind", config::to_string(c.kind)}, {"what", c.what}, {"detail", c.detail}});
  return out;
}

json version(Service&, const json&, const Caller&) {
  json objects = json::object();
  for (const auto& d : datapath::object_digests()) objects[d.object] = d.sha256;
  return {{"ok", true}, {"version", SLUICE_VERSION}, {"bpf_objects_sha256", objects}};
}

json rules(Service& s, const json&, const Caller&) {
  json out = json::array();
  const auto& cfg = s.live().config;
  const auto& installed = s.rulesets().installed_rules();
  for (std::size_t i = 0; i < installed.size(); ++i) {
    // The TOML's rules as written (container selectors, not the addresses
    // they stand for now); after them NetworkPolicy's.
    bool from_file = i < cfg.rules.size();
    const auto& r = from_file ? cfg.rules[i] : installed[i];
    auto c = s.readings().rule(static_cast<std::uint32_t>(i));
    out.push_back({{"index", i},
                   {"name", r.name},
                   {"source", from_file ? "config" : "kubernetes"},
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
    auto counter = s.readings().chain_default(chain);
    defaults.push_back({{"chain", config::to_string(chain)},
                        {"action", config::to_string(cfg.chain_defaults[c])},
                        {"mode", cfg.chain_audit[c] ? "audit" : "enforce"},
                        {"packets", counter.packets},
                        {"bytes", counter.bytes}});
  }
  return {{"ok", true}, {"rules", out}, {"defaults", defaults}};
}

const char* state_name(std::uint8_t state) {
  static const char* names[] = {"new",      "syn-sent", "syn-recv", "established",
                                "fin-wait", "closing",  "closed"};
  return state < SLUICE_CT_STATE_COUNT ? names[state] : "?";
}

std::string address(const std::uint8_t* a, std::uint8_t family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == SLUICE_FAMILY_IPV4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return buf;
}

// An address a conntrack page is filtered by, parsed once: entries are
// matched on their bytes, so only the page's entries are ever formatted.
struct AddressFilter {
  std::uint8_t family = 0;
  std::uint8_t bytes[16] = {};

  static std::optional<AddressFilter> parse(const std::string& text) {
    AddressFilter f;
    if (inet_pton(AF_INET, text.c_str(), f.bytes) == 1)
      f.family = SLUICE_FAMILY_IPV4;
    else if (inet_pton(AF_INET6, text.c_str(), f.bytes) == 1)
      f.family = SLUICE_FAMILY_IPV6;
    else
      return std::nullopt;
    return f;
  }
  bool is(const std::uint8_t* address) const {
    return std::memcmp(address, bytes, family == SLUICE_FAMILY_IPV4 ? 4 : 16) == 0;
  }
  // Either end, or the address the originator appears as or connected to.
  bool matches(const sluice_ct_key& k, const sluice_ct_entry& v) const {
    if (k.family != family) return false;
    return is(k.addr_a) || is(k.addr_b) || (v.nat & SLUICE_NAT_SNAT && is(v.snat_addr)) ||
           (v.nat & SLUICE_NAT_DNAT && is(v.dnat_addr));
  }
};

json conntrack_entry_json(Service& s, const sluice_ct_key& k, const sluice_ct_entry& v,
                          const flows::WorkloadNames* workloads, std::uint64_t now) {
  const auto& names = s.live().compiled.rule_names;
  bool a_first = v.originator_is_a;
  std::string src = address(a_first ? k.addr_a : k.addr_b, k.family);
  std::string dst = address(a_first ? k.addr_b : k.addr_a, k.family);
  // The addresses the outside sees, when translated: what the originator
  // connected to (port forward) and what it appears as (masquerade).
  json nat = json::object();
  if (v.nat & SLUICE_NAT_SNAT)
    nat["masquerade"] = {{"addr", address(v.snat_addr, k.family)}, {"port", ntohs(v.snat_port)}};
  if (v.nat & SLUICE_NAT_DNAT)
    nat["port_forward"] = {{"addr", address(v.dnat_addr, k.family)}, {"port", ntohs(v.dnat_port)}};
  std::string rule;
  if (v.rule_index == SLUICE_RULE_INDEX_DEFAULT)
    rule = std::string("default (") + config::to_string(policy::config_chain(v.chain)) + ")";
  else if (v.created_ns >= s.applied_at_ns() && v.rule_index < names.size())
    rule = names[v.rule_index];
  else
    rule = "#" + std::to_string(v.rule_index) + " of an earlier ruleset";
  json out = {{"proto", k.proto},
              {"src", src},
              {"sport", ntohs(a_first ? k.port_a : k.port_b)},
              {"dst", dst},
              {"dport", ntohs(a_first ? k.port_b : k.port_a)},
              {"state", state_name(v.state)},
              {"chain", config::to_string(policy::config_chain(v.chain))},
              {"rule", rule},
              {"nat", nat},
              {"packets", {v.packets[0], v.packets[1]}},
              {"bytes", {v.bytes[0], v.bytes[1]}},
              {"age_seconds", now > v.created_ns ? (now - v.created_ns) / 1000000000ull : 0},
              {"idle_seconds", now > v.last_seen_ns ? (now - v.last_seen_ns) / 1000000000ull : 0}};
  // The containers at either end (CNI mode).
  if (workloads) {
    auto src_w = workloads->describe(src), dst_w = workloads->describe(dst);
    if (!src_w.empty()) out["src_workload"] = src_w;
    if (!dst_w.empty()) out["dst_workload"] = dst_w;
  }
  return out;
}

// One page of the table, built while walking it: only the page becomes
// JSON, whatever the table's size. A full table is hundreds of thousands
// of entries. Unfiltered, the walk stops at the page's end and the kernel
// counts the total; filtered, every entry is walked to count the matches,
// but nothing beyond the filter's byte comparison is done for those off
// the page. The count and the walk are two looks at a live table: under
// churn they may differ by the flows that came and went in between.
json conntrack_page(Service& s, const std::optional<AddressFilter>& filter, std::uint64_t offset,
                    std::uint64_t limit) {
  json out = json::array();
  std::uint64_t matched = 0;
  auto workloads = s.rulesets().identities().names();
  std::uint64_t now = monotonic_ns();
  s.readings().for_each_flow([&](const datapath::Datapath::ConntrackEntry& e) {
    if (filter && !filter->matches(e.key, e.value)) return true;
    if (matched++ < offset) return true;
    if (out.size() < limit)
      out.push_back(conntrack_entry_json(s, e.key, e.value, workloads.get(), now));
    return filter || out.size() < limit;
  });
  std::uint64_t total =
      filter ? matched : std::max<std::uint64_t>(s.readings().flow_count(), matched);
  return {{"ok", true}, {"entries", out}, {"total", total}};
}

json counters(Service& s, const json&, const Caller&) {
  json out = json::array();
  for (int r = 1; r < SLUICE_DROP_REASON_COUNT; ++r) {
    auto c = s.readings().drops(static_cast<sluice_drop_reason>(r));
    out.push_back(
        {{"reason", flows::drop_reason_name(r)}, {"packets", c.packets}, {"bytes", c.bytes}});
  }
  static const char* audit_names[] = {"rule-drop", "rule-reject", "default-drop"};
  static_assert(sizeof audit_names / sizeof *audit_names == SLUICE_AUDIT_REASON_COUNT);
  json audited = json::array();
  for (int r = 0; r < SLUICE_AUDIT_REASON_COUNT; ++r) {
    auto c = s.readings().audited(static_cast<sluice_audit_reason>(r));
    audited.push_back({{"would", audit_names[r]}, {"packets", c.packets}, {"bytes", c.bytes}});
  }
  static const char* nat_names[] = {"new masquerade", "new port forward", "new hairpin",
                                    "rewritten", "icmp error translated"};
  static_assert(sizeof nat_names / sizeof *nat_names == SLUICE_NAT_COUNTER_COUNT);
  json nat = json::array();
  for (int n = 0; n < SLUICE_NAT_COUNTER_COUNT; ++n) {
    auto c = s.readings().nat(static_cast<sluice_nat_counter>(n));
    nat.push_back({{"what", nat_names[n]}, {"packets", c.packets}, {"bytes", c.bytes}});
  }
  static const char* fast_names[] = {
      "forwarded by XDP", "to kernel: no neighbour", "to kernel: TTL",  "to kernel: MTU",
      "to kernel: route", "to kernel: other",        "new flows by XDP"};
  static_assert(sizeof fast_names / sizeof *fast_names == SLUICE_FAST_COUNTER_COUNT);
  json fast = json::array();
  for (int n = 0; n < SLUICE_FAST_COUNTER_COUNT; ++n) {
    auto c = s.readings().fast_path(static_cast<sluice_fastpath_counter>(n));
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

json flows(Service& s, const json& req, const Caller&) {
  flows::FlowFilter filter;
  if (auto err = flows::filter_from_json(req.value("filter", json()), filter, wall_ms());
      !err.empty())
    return error(err);
  std::uint64_t after = 0;
  std::size_t limit = 100;
  if (req.contains("after")) {
    if (!req["after"].is_number_unsigned())
      return error("after must be a flow id (a non-negative integer)");
    after = req["after"].get<std::uint64_t>();
  }
  if (req.contains("limit")) {
    const auto& v = req["limit"];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 ||
        v.get<std::uint64_t>() > kMaxFlowsPerAnswer)
      return error("limit must be 1 to " + std::to_string(kMaxFlowsPerAnswer));
    limit = v.get<std::size_t>();
  }
  if (req.contains("newest") && !req["newest"].is_boolean())
    return error("newest must be true or false");
  bool newest = req.contains("newest") && req["newest"].get<bool>();
  const auto& log = *s.flows();
  std::uint64_t last = log.ring().last_id();
  json out = json::array();
  for (const auto& r : log.query(filter, after, limit, newest)) out.push_back(flows::to_json(r));
  return {{"ok", true}, {"flows", out}, {"last_id", last}};
}

// A string field of a request, or nullopt (and why in err).
std::optional<std::string> string_field(const json& req, const char* key, std::size_t max,
                                        std::string& err) {
  if (!req.contains(key) || !req[key].is_string()) {
    err = std::string("\"") + key + "\" is required and must be a string";
    return std::nullopt;
  }
  auto v = req[key].get<std::string>();
  if (v.size() > max) {
    err = std::string("\"") + key + "\" is longer than " + std::to_string(max) + " bytes";
    return std::nullopt;
  }
  return v;
}

// A positive integer field up to max, default when absent; nullopt when bad.
std::optional<std::uint64_t> count_field(const json& req, const char* key, std::uint64_t fallback,
                                         std::uint64_t max) {
  if (!req.contains(key)) return fallback;
  const auto& v = req[key];
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() == 0 || v.get<std::uint64_t>() > max)
    return std::nullopt;
  return v.get<std::uint64_t>();
}

using config::kMaxConfigBytes;
constexpr std::size_t kMaxNameBytes = 64;

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

json apply(Service& s, const json& req, const Caller& caller) {
  std::optional<std::chrono::seconds> confirm;
  if (req.contains("confirm_within_seconds")) {
    auto secs = count_field(req, "confirm_within_seconds", 0, 86400);
    if (!secs) return error("confirm_within_seconds must be 1 to 86400");
    confirm = std::chrono::seconds(*secs);
  }
  std::optional<std::string> text;
  if (req.contains("text")) {
    std::string err;
    text = string_field(req, "text", kMaxConfigBytes, err);
    if (!text) return error(err);
  }
  auto outcome =
      text ? s.apply_text(*text, confirm, caller.who) : s.apply_file(confirm, caller.who);
  if (!outcome.diagnostics.empty())
    return {{"ok", false},
            {"code", 422},
            {"error", "the configuration has errors; the running ruleset stays"},
            {"diagnostics", diagnostics_json(outcome.diagnostics)}};
  json out = {{"ok", true}, {"changes", changes_json(outcome.changes)}};
  if (confirm) out["confirm_within_seconds"] = confirm->count();
  if (outcome.version) out["version"] = outcome.version;
  return out;
}

// validate / diff: of the file at "path", or of "text" as if it were the
// config file.
json check_config(Service& s, const json& req, const Caller& caller, bool with_diff) {
  policy::LoadResult loaded;
  if (req.contains("text")) {
    std::string err;
    auto text = string_field(req, "text", kMaxConfigBytes, err);
    if (!text) return error(err);
    loaded = policy::load_ruleset_text(*text, s.config_path(), s.list_dirs());
  } else if (req.contains("path") && req["path"].is_string()) {
    // A path names a file on the host: only root, who could read it anyway.
    if (!caller.root)
      return error(
          "only root on the control socket may have sluiced read a file by path; send the "
          "configuration as \"text\"",
          403);
    loaded = policy::load_ruleset(req["path"].get<std::string>(), s.list_dirs());
  } else {
    return error("give the configuration as \"text\" (or, on the control socket, a \"path\")");
  }
  if (!loaded.ruleset)
    return {{"ok", false},
            {"code", 422},
            {"error", "the configuration has errors"},
            {"diagnostics", diagnostics_json(loaded.diagnostics)}};
  json out = {{"ok", true}, {"rules", loaded.ruleset->config.rules.size()}};
  if (with_diff)
    out["changes"] = changes_json(config::diff(s.live().config, loaded.ruleset->config));
  return out;
}

json config_history(Service& s, const json& req, const Caller&) {
  auto* state = s.state();
  if (!state) return error("the config history is unavailable: " + s.state_error(), 503);
  if (req.contains("id")) {
    if (!req["id"].is_number_unsigned()) return error("id must be a version number");
    auto v = state->config_version(req["id"].get<std::uint64_t>());
    if (!v) return error("no config version " + req["id"].dump(), 404);
    return {{"ok", true},
            {"version",
             {{"id", v->id},
              {"time_ms", v->time_ms},
              {"author", v->author},
              {"path", v->path},
              {"diff", v->diff},
              {"text", v->text}}}};
  }
  auto limit = count_field(req, "limit", 50, 1000);
  if (!limit) return error("limit must be 1 to 1000");
  json out = json::array();
  for (const auto& v : state->config_versions(*limit))
    out.push_back({{"id", v.id},
                   {"time_ms", v.time_ms},
                   {"author", v.author},
                   {"path", v.path},
                   {"diff", v.diff}});
  return {{"ok", true}, {"versions", out}};
}

json audit_log(Service& s, const json& req, const Caller&) {
  auto* state = s.state();
  if (!state) return error("the audit log is unavailable: " + s.state_error(), 503);
  auto limit = count_field(req, "limit", 100, 10000);
  if (!limit) return error("limit must be 1 to 10000");
  json out = json::array();
  for (const auto& e : state->audit_entries(*limit))
    out.push_back({{"id", e.id},
                   {"time_ms", e.time_ms},
                   {"who", e.who},
                   {"what", e.what},
                   {"detail", e.detail}});
  return {{"ok", true}, {"entries", out}};
}

// Users and tokens: root on the control socket only.
json accounts(Service& s, const std::string& cmd, const json& req, const Caller& caller) {
  auto* state = s.state();
  if (!state) return error("the user database is unavailable: " + s.state_error(), 503);
  if (cmd == "users" || cmd == "tokens") {
    json out = json::array();
    for (const auto& u : cmd == "users" ? state->users() : state->tokens())
      out.push_back({{"name", u.name}, {"created_ms", u.created_ms}});
    return {{"ok", true}, {cmd, out}};
  }
  std::string err;
  auto name = string_field(req, "name", kMaxNameBytes, err);
  if (!name) return error(err);
  if (!valid_name(*name)) return error("a name is 1 to 64 letters, digits, '-', '_' or '.'");
  if (cmd == "user_add") {
    auto password = string_field(req, "password", 1024, err);
    if (!password) return error(err);
    if (password->size() < 8) return error("a password has at least 8 characters");
    state->set_user(*name, auth::hash_password(*password));
    state->audit(caller.who, "user set", *name);
    return {{"ok", true}};
  }
  if (cmd == "user_remove") {
    if (!state->remove_user(*name)) return error("no user '" + *name + "'", 404);
    state->audit(caller.who, "user removed", *name);
    return {{"ok", true}};
  }
  if (cmd == "token_add") {
    auto token = auth::new_token();
    if (!state->add_token(*name, auth::token_hash(token)))
      return error("a token named '" + *name + "' exists", 409);
    state->audit(caller.who, "token added", *name);
    return {{"ok", true}, {"name", *name}, {"token", token}};
  }
  // token_remove
  if (!state->remove_token(*name)) return error("no token '" + *name + "'", 404);
  state->audit(caller.who, "token removed", *name);
  return {{"ok", true}};
}

json interfaces(Service& s, const json&, const Caller&) {
  json out = json::array();
  std::map<std::string, std::string> attached;
  for (const auto& [name, mode] : s.interfaces()) attached[name] = mode;
  for (const auto& itf : s.live().config.interfaces) {
    auto it = attached.find(itf.name);
    json entry = {{"name", itf.name},
                  {"zone", itf.zone},
                  {"attached", it != attached.end()},
                  {"xdp", it != attached.end() ? it->second : ""}};
    auto st = it != attached.end() ? net::link_stats(itf.name) : std::nullopt;
    auto stats = st.value_or(net::LinkStats{});
    entry["rx_packets"] = stats.rx_packets;
    entry["rx_bytes"] = stats.rx_bytes;
    entry["rx_dropped"] = stats.rx_dropped;
    entry["tx_packets"] = stats.tx_packets;
    entry["tx_bytes"] = stats.tx_bytes;
    entry["tx_dropped"] = stats.tx_dropped;
    out.push_back(entry);
  }
  return {{"ok", true}, {"interfaces", out}};
}

json conntrack(Service& s, const json& req, const Caller&) {
  if (req.contains("filter") && !req["filter"].is_string())
    return error("filter must be an address (IPv4 or IPv6)");
  std::optional<AddressFilter> filter;
  if (std::string text = req.value("filter", ""); !text.empty()) {
    filter = AddressFilter::parse(text);
    if (!filter) return error("filter must be an address (IPv4 or IPv6), not '" + text + "'");
  }
  auto limit = count_field(req, "limit", 1000000000, 1000000000);
  if (!limit) return error("limit must be a positive number");
  std::uint64_t offset = 0;
  if (req.contains("offset")) {
    if (!req["offset"].is_number_unsigned()) return error("offset must be a non-negative number");
    offset = req["offset"].get<std::uint64_t>();
  }
  return conntrack_page(s, filter, offset, *limit);
}

json config(Service& s, const json&, const Caller&) {
  return {{"ok", true}, {"path", s.config_path()}, {"text", s.live().text}};
}

json confirm(Service& s, const json&, const Caller& caller) {
  if (!s.confirm(caller.who)) return error("no apply is waiting for confirmation", 409);
  return {{"ok", true}};
}

json rollback(Service& s, const json&, const Caller& caller) {
  std::string why;
  if (!s.rollback(why, caller.who)) return error(why, 409);
  return {{"ok", true}};
}

json validate(Service& s, const json& req, const Caller& caller) {
  return check_config(s, req, caller, false);
}
json diff(Service& s, const json& req, const Caller& caller) {
  return check_config(s, req, caller, true);
}

template <const char* kCommand>
json account(Service& s, const json& req, const Caller& caller) {
  return accounts(s, kCommand, req, caller);
}
constexpr char kUsers[] = "users", kTokens[] = "tokens", kUserAdd[] = "user_add",
               kUserRemove[] = "user_remove", kTokenAdd[] = "token_add",
               kTokenRemove[] = "token_remove";

// Every command of commands::catalog() and what serves it.
const std::map<std::string_view, CommandHandler> kHandlers = {
    {"status", status},
    {"version", version},
    {"rules", rules},
    {"counters", counters},
    {"flows", flows},
    {"interfaces", interfaces},
    {"conntrack", conntrack},
    {"config", config},
    {"apply", apply},
    {"confirm", confirm},
    {"rollback", rollback},
    {"validate", validate},
    {"diff", diff},
    {"config_history", config_history},
    {"audit", audit_log},
    {"users", account<kUsers>},
    {"tokens", account<kTokens>},
    {"user_add", account<kUserAdd>},
    {"user_remove", account<kUserRemove>},
    {"token_add", account<kTokenAdd>},
    {"token_remove", account<kTokenRemove>},
    {"cni_add", cni_add},
    {"cni_del", cni_del},
    {"cni_check", cni_check},
    {"cni_gc", cni_gc},
    {"cni_status", cni_status},
    {"cni_install", cni_install},
    {"endpoints", endpoints},
};

}  // namespace

json refusal(const std::string& message, int code) {
  return {{"ok", false}, {"error", message}, {"code", code}};
}

std::vector<std::string_view> handled_commands() {
  std::vector<std::string_view> out;
  for (const auto& [name, handler] : kHandlers) out.push_back(name);
  return out;
}

CommandHandler handler_for(std::string_view command) {
  auto it = kHandlers.find(command);
  return it == kHandlers.end() ? nullptr : it->second;
}

}  // namespace sluice::service
