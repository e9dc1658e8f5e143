#include "config/parser.h"

#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <tuple>

#include "config/bounded_file.h"
#include "config/set_file.h"

namespace sluice::config {

namespace {

using Keys = std::initializer_list<std::string_view>;

std::string join(Keys keys) {
  std::string s;
  for (auto k : keys) s += (s.empty() ? "" : ", ") + std::string(k);
  return s;
}

template <typename E>
struct Choice {
  std::string_view name;
  E value;
};

// "\"a\", \"b\" or \"c\"", for messages.
template <typename E>
std::string quoted_alternatives(std::initializer_list<Choice<E>> choices) {
  std::string s;
  std::size_t i = 0;
  for (const auto& c : choices) {
    if (i > 0) s += ++i == choices.size() ? " or " : ", ";
    else ++i;
    s += "\"" + std::string(c.name) + "\"";
  }
  return s;
}

// Checked without opening: opening a FIFO would wait for a writer.
bool readable_regular_file(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), R_OK) == 0;
}

// Whether an [api] listen address (ADDRESS:PORT) is on loopback only.
bool loopback_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon == std::string::npos ? listen.size() : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1") return true;
  auto parsed = parse_prefix(host);
  return parsed.prefix && parsed.prefix->family == Family::V4 && parsed.prefix->addr[0] == 127;
}

// Walks the TOML tree once, building the Config and collecting every
// problem on the way; it never stops at the first one.
class Parser {
 public:
  Parser(std::string file, std::string base_dir, std::vector<std::string> list_dirs)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), list_dirs_(std::move(list_dirs)) {
    list_dirs_.insert(list_dirs_.begin(), base_dir_);
  }

  ParseResult run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, file_);
    } catch (const toml::parse_error& e) {
      const auto& b = e.source().begin;
      diags_.push_back({{file_, static_cast<int>(b.line), static_cast<int>(b.column)}, "",
                        "TOML syntax error: " + std::string(e.description())});
      return finish();
    }
    check_keys(root, "",
               {"api", "interface", "zones", "sets", "chains", "rule", "prefilter", "router", "route", "nat", "flows"});
    parse_zones(root);
    parse_interfaces(root);
    parse_sets(root);
    parse_api(root);  // after sets and zones: management names them
    parse_chains(root);
    parse_rules(root);
    parse_prefilter(root);
    parse_router(root);
    parse_routes(root);
    parse_nat(root);
    parse_flows(root);
    return finish();
  }

 private:
  ParseResult finish() {
    ParseResult r;
    r.diagnostics = std::move(diags_);
    if (r.diagnostics.empty()) r.config = std::move(cfg_);
    return r;
  }

  Location loc(const toml::source_region& s) const {
    return {file_, static_cast<int>(s.begin.line), static_cast<int>(s.begin.column)};
  }
  Location loc(const toml::node& n) const { return loc(n.source()); }

  void error(const Location& where, const std::string& key, const std::string& msg) {
    diags_.push_back({where, key, msg});
  }
  void error(const toml::node& n, const std::string& key, const std::string& msg) {
    error(loc(n), key, msg);
  }

  static std::string dotted(const std::string& prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
  }

  // Unknown keys are errors: a typo must never silently weaken a firewall.
  void check_keys(const toml::table& t, const std::string& prefix, Keys allowed) {
    for (const auto& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      error(loc(k.source()), dotted(prefix, k.str()),
            "unknown key; expected one of: " + join(allowed));
    }
  }

  // A path from the config, relative ones resolved next to the config file.
  std::string resolve(const std::string& path) const {
    std::filesystem::path p(path);
    return (p.is_relative() ? std::filesystem::path(base_dir_) / p : p).string();
  }

  const toml::table* table_at(const toml::table& parent, std::string_view key,
                              const std::string& path) {
    const toml::node* n = parent.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      error(*n, path, "must be a table ([" + path + "])");
      return nullptr;
    }
    return n->as_table();
  }

  std::optional<std::string> string_at(const toml::table& t, std::string_view key,
                                       const std::string& path) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) {
      error(*n, path, "must be a string, in double quotes");
      return std::nullopt;
    }
    return n->value<std::string>();
  }

  // A key whose string value names one of choices. Returns false when the
  // value is not one of them (reported) or the key is missing and required
  // (reported); out keeps its value when the key is absent.
  template <typename E>
  bool enum_at(const toml::table& t, std::string_view key, const std::string& path,
               const char* what, std::initializer_list<Choice<E>> choices, bool required, E& out) {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required)
        error(t, path, "missing key '" + std::string(key) + "' (" + quoted_alternatives(choices) + ")");
      return !required;
    }
    auto v = string_at(t, key, path + "." + std::string(key));
    if (!v) return false;
    for (const auto& c : choices) {
      if (c.name == *v) {
        out = c.value;
        return true;
      }
    }
    error(*n, path + "." + std::string(key),
          "'" + *v + "' is not " + what + "; use " + quoted_alternatives(choices));
    return false;
  }

  void parse_api(const toml::table& root) {
    const auto* api = table_at(root, "api", "api");
    if (!api) return;
    check_keys(*api, "api",
               {"listen", "management", "management_ports", "anti_lockout", "tls_cert", "tls_key", "insecure_plaintext"});
    if (auto listen = string_at(*api, "listen", "api.listen")) {
      cfg_.api_listen = *listen;
      auto colon = listen->rfind(':');
      int port = colon == std::string::npos ? 0 : std::atoi(listen->c_str() + colon + 1);
      if (!listen->empty() && (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535))
        error(*api->get("listen"), "api.listen", "must be ADDRESS:PORT, e.g. \"127.0.0.1:9090\" or \"[::1]:9090\" (\"\" turns the API off)");
    }
    auto cert = string_at(*api, "tls_cert", "api.tls_cert");
    auto key = string_at(*api, "tls_key", "api.tls_key");
    if (cert.has_value() != key.has_value()) {
      error(*api, "api", "tls_cert and tls_key go together (a certificate and its private key)");
    } else if (cert) {
      for (const auto& [k, v] : {std::pair{"tls_cert", *cert}, std::pair{"tls_key", *key}})
        if (!readable_regular_file(resolve(v)))
          error(*api->get(k), std::string("api.") + k, "cannot read '" + resolve(v) + "' (a readable regular file)");
      cfg_.api_tls_cert = resolve(*cert);
      cfg_.api_tls_key = resolve(*key);
    }
    // Passwords and session cookies in the clear beyond this host: only
    // when the operator says so in as many words.
    bool plaintext_ok = false;
    if (const auto* flag = api->get("insecure_plaintext")) {
      if (auto b = flag->value_exact<bool>()) plaintext_ok = *b;
      else error(*flag, "api.insecure_plaintext", "must be true or false");
    }
    if (const auto* listen = api->get("listen"); listen && !cert && !plaintext_ok && !cfg_.api_listen.empty() &&
                                                 !loopback_listen(cfg_.api_listen))
      error(*listen, "api.listen",
            "'" + cfg_.api_listen + "' is reachable from other hosts, and without TLS passwords and session "
            "cookies would cross the network in the clear; set tls_cert and tls_key, listen on 127.0.0.1, or "
            "set insecure_plaintext = true to accept that");

    const toml::node* mgmt = api->get("management");
    bool enabled = true;
    if (const auto* flag = api->get("anti_lockout")) {
      if (auto b = flag->value_exact<bool>()) enabled = *b;
      else error(*flag, "api.anti_lockout", "must be true or false");
    }
    if (!mgmt) {
      if (api->get("management_ports"))
        error(*api->get("management_ports"), "api.management_ports",
              "management_ports needs management = ... (the sources always let in)");
      return;
    }
    // The anti-lockout rule: the management sources always reach the
    // management ports, whatever the rules below say. It is rule 0.
    Rule r;
    r.name = kAntiLockoutRule;
    r.chain = Chain::Input;
    r.proto = Protocol::Tcp;
    r.action = Action::Accept;
    r.implicit = true;
    r.where = loc(*mgmt);
    if (!parse_endpoint(*mgmt, "api.management", r.from)) return;
    if (const auto* ports = api->get("management_ports")) {
      if (!parse_ports(*ports, "api.management_ports", r.ports)) return;
    } else {
      r.ports.push_back({22, 22});
      auto colon = cfg_.api_listen.rfind(':');
      int port = colon == std::string::npos ? 0 : std::atoi(cfg_.api_listen.c_str() + colon + 1);
      if (port > 0 && port <= 65535 && port != 22)
        r.ports.push_back({static_cast<uint16_t>(port), static_cast<uint16_t>(port)});
    }
    if (enabled) cfg_.rules.push_back(std::move(r));
  }

  void parse_zones(const toml::table& root) {
    const auto* zones = table_at(root, "zones", "zones");
    if (!zones) return;
    for (const auto& [name, node] : *zones) {
      std::string path = "zones." + std::string(name.str());
      if (!node.is_table()) {
        error(node, path, "must be a table ([zones." + std::string(name.str()) + "])");
        continue;
      }
      const auto& t = *node.as_table();
      check_keys(t, path, {"networks", "description"});
      Zone z{std::string(name.str()), {}, loc(name.source())};
      if (const auto* nets = t.get("networks")) {
        z.networks = prefix_list(*nets, path + ".networks");
      }
      string_at(t, "description", path + ".description");
      cfg_.zones[z.name] = std::move(z);
    }
  }

  void parse_interfaces(const toml::table& root) {
    const toml::node* n = root.get("interface");
    if (!n) return;
    const auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      error(*n, "interface", "must be an array of tables, written [[interface]]");
      return;
    }
    std::map<std::string, Location> seen;
    std::map<Prefix, std::string> addresses_seen;  // host address -> interface
    for (size_t i = 0; i < arr->size(); ++i) {
      const auto& t = *arr->get(i)->as_table();
      std::string path = "interface[" + std::to_string(i) + "]";
      check_keys(t, path, {"name", "zone", "addresses"});
      Interface itf;
      itf.where = loc(t);
      auto name = string_at(t, "name", path + ".name");
      if (!name) {
        if (!t.get("name")) error(t, path, "missing key 'name' (the kernel's interface name)");
        continue;
      }
      if (name->empty() || name->size() > 15 || name->find('/') != std::string::npos ||
          name->find(' ') != std::string::npos) {
        error(*t.get("name"), path + ".name",
              "'" + *name + "' is not a valid interface name (1-15 characters, no '/' or space)");
        continue;
      }
      if (auto prev = seen.find(*name); prev != seen.end()) {
        error(*t.get("name"), path + ".name",
              "interface '" + *name + "' is already configured at line " +
                  std::to_string(prev->second.line));
        continue;
      }
      seen[*name] = itf.where;
      itf.name = *name;
      if (auto zone = string_at(t, "zone", path + ".zone")) {
        itf.zone = *zone;
        // Naming a zone on an interface declares it.
        if (!cfg_.zones.count(*zone)) cfg_.zones[*zone] = Zone{*zone, {}, itf.where};
      }
      if (const auto* addrs = t.get("addresses"))
        itf.addresses = interface_addresses(*addrs, path + ".addresses", addresses_seen);
      cfg_.interfaces.push_back(std::move(itf));
    }
  }

  // addresses = ["192.0.2.1/24", "2001:db8::1/64"]; an address may sit on
  // one interface only.
  std::vector<Prefix> interface_addresses(const toml::node& n, const std::string& path,
                                          std::map<Prefix, std::string>& seen) {
    std::vector<Prefix> out;
    const auto* arr = n.as_array();
    if (!arr) {
      error(n, path, "must be an array of addresses with their subnet, e.g. [\"192.0.2.1/24\"]");
      return out;
    }
    for (const auto& item : *arr) {
      auto text = item.value_exact<std::string>();
      if (!text) {
        error(item, path, "addresses must be strings, e.g. \"192.0.2.1/24\"");
        continue;
      }
      auto parsed = parse_interface_address(*text);
      if (!parsed.prefix) {
        error(item, path, parsed.error);
        continue;
      }
      Prefix host = *parsed.prefix;
      host.length = static_cast<std::uint8_t>(host.max_length());
      if (auto prev = seen.find(host); prev != seen.end()) {
        error(item, path, "address " + host.to_string() + " is already given to " + prev->second);
        continue;
      }
      seen[host] = path;
      out.push_back(*parsed.prefix);
    }
    return out;
  }

  std::vector<Prefix> prefix_list(const toml::node& n, const std::string& path) {
    std::vector<Prefix> out;
    const auto* arr = n.as_array();
    if (!arr) {
      error(n, path, "must be an array of addresses, e.g. [\"192.0.2.0/24\"]");
      return out;
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      const auto& item = *arr->get(i);
      if (!item.is_string()) {
        error(item, path, "addresses must be strings, e.g. \"192.0.2.1\"");
        continue;
      }
      auto parsed = parse_prefix(*item.value<std::string>());
      if (!parsed.prefix) {
        error(item, path, parsed.error);
        continue;
      }
      out.push_back(*parsed.prefix);
    }
    return out;
  }

  void parse_sets(const toml::table& root) {
    const auto* sets = table_at(root, "sets", "sets");
    if (!sets) return;
    for (const auto& [name, node] : *sets) {
      std::string path = "sets." + std::string(name.str());
      AddressSet set{std::string(name.str()), {}, loc(name.source())};
      if (node.is_array()) {
        set.prefixes = prefix_list(node, path);
        if (node.as_array()->empty())
          error(node, path, "set is empty; list at least one address or remove the set");
      } else if (node.is_table()) {
        const auto& t = *node.as_table();
        check_keys(t, path, {"file"});
        auto file = string_at(t, "file", path + ".file");
        if (!file) {
          if (!t.get("file")) error(node, path, "missing key 'file' (path of an address list)");
          continue;
        }
        std::filesystem::path p(*file);
        if (p.is_relative()) p = std::filesystem::path(base_dir_) / p;
        size_t before = diags_.size();
        // An unreadable file is reported where the config names it.
        if (auto failure = read_set_file(p.string(), list_dirs_, path, set.prefixes, diags_)) {
          error(*t.get("file"), path + ".file", *failure);
          continue;
        }
        if (set.prefixes.empty() && diags_.size() == before)
          error(*t.get("file"), path + ".file",
                "address list '" + p.string() + "' is empty; add addresses or remove the set");
      } else {
        error(node, path,
              "must be an array of addresses or { file = \"...\" } naming an address list");
        continue;
      }
      cfg_.sets[set.name] = std::move(set);
    }
  }

  void parse_chains(const toml::table& root) {
    const auto* chains = table_at(root, "chains", "chains");
    if (!chains) return;
    check_keys(*chains, "chains", {"input", "forward", "output"});
    const std::pair<std::string_view, Chain> names[] = {
        {"input", Chain::Input}, {"forward", Chain::Forward}, {"output", Chain::Output}};
    for (auto [key, chain] : names) {
      int c = static_cast<int>(chain);
      // input = "drop", or input = { default = "drop", mode = "audit" }
      if (const auto* t = chains->get(key); t && t->is_table()) {
        std::string path = "chains." + std::string(key);
        check_keys(*t->as_table(), path, {"default", "mode"});
        enum_at<Action>(*t->as_table(), "default", path, "a chain default",
                        {{"accept", Action::Accept}, {"drop", Action::Drop}}, true, cfg_.chain_defaults[c]);
        enum_at<bool>(*t->as_table(), "mode", path, "a mode", {{"enforce", false}, {"audit", true}}, false,
                      cfg_.chain_audit[c]);
        continue;
      }
      enum_at<Action>(*chains, key, "chains", "a chain default",
                      {{"accept", Action::Accept}, {"drop", Action::Drop}}, false, cfg_.chain_defaults[c]);
    }
  }

  void parse_router(const toml::table& root) {
    const auto* router = table_at(root, "router", "router");
    if (!router) return;
    check_keys(*router, "router", {"forwarding", "fast_path"});
    enum_at<FastPath>(*router, "fast_path", "router", "a fast path setting",
                      {{"auto", FastPath::Auto}, {"on", FastPath::On}, {"off", FastPath::Off}}, false,
                      cfg_.fast_path);
    if (const auto* f = router->get("forwarding")) {
      if (auto b = f->value_exact<bool>()) cfg_.forwarding = *b;
      else error(*f, "router.forwarding", "must be true or false");
    }
  }

  // [flows] memory = 10000, history = true, history_max_age = "7d",
  // history_max_mb = 256
  void parse_flows(const toml::table& root) {
    const auto* flows = table_at(root, "flows", "flows");
    if (!flows) return;
    check_keys(*flows, "flows", {"events", "memory", "history", "history_max_age", "history_max_mb"});
    auto& out = cfg_.flows;
    enum_at<FlowEvents>(*flows, "events", "flows", "a flow event setting",
                        {{"all", FlowEvents::All}, {"denied", FlowEvents::Denied}}, false, out.events);
    if (const auto* n = flows->get("memory")) {
      auto v = n->value_exact<std::int64_t>();
      if (v && *v >= 100 && *v <= 10'000'000) out.memory = static_cast<std::size_t>(*v);
      else error(*n, "flows.memory", "must be a number of flow records from 100 to 10000000");
    }
    if (const auto* n = flows->get("history")) {
      if (auto b = n->value_exact<bool>()) out.history = *b;
      else error(*n, "flows.history", "must be true or false");
    }
    if (const auto* n = flows->get("history_max_age")) {
      auto text = n->value_exact<std::string>();
      auto secs = text ? parse_age(*text) : std::nullopt;
      if (secs) out.history_max_age_seconds = *secs;
      else error(*n, "flows.history_max_age", "must be a duration like \"90s\", \"30m\", \"12h\" or \"7d\"");
    }
    if (const auto* n = flows->get("history_max_mb")) {
      auto v = n->value_exact<std::int64_t>();
      if (v && *v >= 1 && *v <= 1'000'000) out.history_max_mb = static_cast<std::uint64_t>(*v);
      else error(*n, "flows.history_max_mb", "must be a size in MiB from 1 to 1000000");
    }
  }

  // "90s", "30m", "12h", "7d" -> seconds.
  static std::optional<std::uint64_t> parse_age(const std::string& text) {
    if (text.size() < 2) return std::nullopt;
    std::uint64_t unit = text.back() == 's' ? 1 : text.back() == 'm' ? 60 : text.back() == 'h' ? 3600
                       : text.back() == 'd' ? 86400 : 0;
    std::uint64_t n = 0;
    auto digits = std::string_view(text).substr(0, text.size() - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (unit == 0 || ec != std::errc() || end != digits.data() + digits.size() || n == 0 || n > 36500 * 86400ull / unit)
      return std::nullopt;
    return n * unit;
  }

  // [[route]] to = "10.20.0.0/16", via = "10.10.1.254", dev = "eth1"
  void parse_routes(const toml::table& root) {
    const toml::node* n = root.get("route");
    if (!n) return;
    const auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      error(*n, "route", "must be an array of tables, written [[route]]");
      return;
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      const auto& t = *arr->get(i)->as_table();
      std::string path = "route[" + std::to_string(i) + "]";
      check_keys(t, path, {"to", "via", "dev"});
      Route r;
      r.where = loc(t);
      auto to = string_at(t, "to", path + ".to");
      if (!to) {
        if (!t.get("to")) error(t, path, "missing key 'to' (the destination network, e.g. \"10.20.0.0/16\")");
        continue;
      }
      auto parsed = parse_prefix(*to);
      if (!parsed.prefix) {
        error(*t.get("to"), path + ".to", parsed.error);
        continue;
      }
      r.to = *parsed.prefix;
      if (auto via = string_at(t, "via", path + ".via")) {
        auto gw = parse_prefix(*via);
        if (!gw.prefix || gw.prefix->length != gw.prefix->max_length()) {
          error(*t.get("via"), path + ".via", "'" + *via + "' is not a host address (the next hop)");
          continue;
        }
        if (gw.prefix->family != r.to.family) {
          error(*t.get("via"), path + ".via", "next hop " + *via + " is not of the same family as " + *to);
          continue;
        }
        r.via = gw.prefix;
      }
      if (auto dev = string_at(t, "dev", path + ".dev")) r.dev = *dev;
      if (!r.via && r.dev.empty()) {
        error(t, path, "a route needs via = \"NEXT HOP\", dev = \"INTERFACE\", or both");
        continue;
      }
      cfg_.routes.push_back(std::move(r));
    }
  }

  const Interface* configured_interface(const std::string& name) const {
    for (const auto& i : cfg_.interfaces)
      if (i.name == name) return &i;
    return nullptr;
  }

  // An interface key of a [[nat]] entry: it must be one sluice manages, or
  // its programs would never see the traffic.
  std::optional<std::string> nat_interface(const toml::table& t, std::string_view key,
                                           const std::string& path) {
    auto name = string_at(t, key, path + "." + std::string(key));
    if (!name) {
      if (!t.get(key)) error(t, path, "missing key '" + std::string(key) + "' (an [[interface]] name)");
      return std::nullopt;
    }
    if (!configured_interface(*name)) {
      error(*t.get(key), path + "." + std::string(key),
            "interface '" + *name + "' is not configured; add it as an [[interface]]");
      return std::nullopt;
    }
    return name;
  }

  std::optional<std::uint16_t> port_at(const toml::table& t, std::string_view key,
                                       const std::string& path) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    auto v = n->value_exact<int64_t>();
    if (!v || *v < 1 || *v > 65535) {
      error(*n, path + "." + std::string(key), "must be a port number 1-65535");
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(*v);
  }

  // [[nat]] masquerade = { out_interface = "wan0", from = "zone:lan" }
  // [[nat]] port_forward = { in_interface = "wan0", proto = "tcp", port = 80,
  //                          to = "192.168.1.10", to_port = 8080 }
  void parse_nat(const toml::table& root) {
    const toml::node* n = root.get("nat");
    if (!n) return;
    const auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      error(*n, "nat", "must be an array of tables, written [[nat]]");
      return;
    }
    std::map<std::tuple<std::string, Protocol, std::uint16_t>, int> forwarded;  // -> line
    for (size_t i = 0; i < arr->size(); ++i) {
      const auto& t = *arr->get(i)->as_table();
      std::string path = "nat[" + std::to_string(i) + "]";
      check_keys(t, path, {"masquerade", "port_forward", "comment"});
      string_at(t, "comment", path + ".comment");
      const auto* masq = t.get("masquerade");
      const auto* fwd = t.get("port_forward");
      if ((masq != nullptr) == (fwd != nullptr)) {
        error(t, path, "a [[nat]] entry needs exactly one of masquerade = {...} or port_forward = {...}");
        continue;
      }
      if (masq) {
        std::string mpath = path + ".masquerade";
        if (!masq->is_table()) {
          error(*masq, mpath, "must be a table, e.g. { out_interface = \"wan0\", from = \"zone:lan\" }");
          continue;
        }
        const auto& m = *masq->as_table();
        check_keys(m, mpath, {"out_interface", "from"});
        Masquerade out;
        out.where = loc(*masq);
        auto itf = nat_interface(m, "out_interface", mpath);
        bool ok = itf.has_value();
        if (const auto* from = m.get("from")) ok &= parse_endpoint(*from, mpath + ".from", out.from);
        if (!ok) continue;
        out.out_interface = *itf;
        cfg_.masquerades.push_back(std::move(out));
        continue;
      }
      std::string fpath = path + ".port_forward";
      if (!fwd->is_table()) {
        error(*fwd, fpath,
              "must be a table, e.g. { in_interface = \"wan0\", proto = \"tcp\", port = 80, to = \"192.168.1.10\" }");
        continue;
      }
      const auto& f = *fwd->as_table();
      check_keys(f, fpath, {"in_interface", "proto", "port", "to", "to_port"});
      PortForward out;
      out.where = loc(*fwd);
      auto itf = nat_interface(f, "in_interface", fpath);
      bool ok = itf.has_value();
      ok &= enum_at<Protocol>(f, "proto", fpath, "a protocol that has ports",
                              {{"tcp", Protocol::Tcp}, {"udp", Protocol::Udp}}, true, out.proto);
      auto port = port_at(f, "port", fpath);
      if (!port && !f.get("port")) error(f, fpath, "missing key 'port' (the public port)");
      ok &= port.has_value();
      auto to = string_at(f, "to", fpath + ".to");
      if (!to) {
        if (!f.get("to")) error(f, fpath, "missing key 'to' (the inside host's address)");
        ok = false;
      } else {
        auto host = parse_prefix(*to);
        if (!host.prefix || host.prefix->length != host.prefix->max_length()) {
          error(*f.get("to"), fpath + ".to", "'" + *to + "' is not a host address");
          ok = false;
        } else {
          out.to = *host.prefix;
        }
      }
      auto to_port = port_at(f, "to_port", fpath);
      if (f.get("to_port") && !to_port) ok = false;
      if (!ok) continue;
      out.in_interface = *itf;
      out.port = *port;
      out.to_port = to_port.value_or(*port);
      auto key = std::make_tuple(out.in_interface, out.proto, out.port);
      if (auto prev = forwarded.find(key); prev != forwarded.end()) {
        error(*f.get("port"), fpath + ".port",
              std::string(to_string(out.proto)) + " port " + std::to_string(out.port) + " on " +
                  out.in_interface + " is already forwarded at line " + std::to_string(prev->second));
        continue;
      }
      forwarded[key] = out.where.line;
      cfg_.port_forwards.push_back(std::move(out));
    }
  }

  void parse_prefilter(const toml::table& root) {
    const auto* pf = table_at(root, "prefilter", "prefilter");
    if (!pf) return;
    check_keys(*pf, "prefilter", {"drop_from"});
    auto v = string_at(*pf, "drop_from", "prefilter.drop_from");
    if (!v) return;
    if (v->rfind("set:", 0) != 0) {
      error(*pf->get("drop_from"), "prefilter.drop_from",
            "must name an address set, written \"set:NAME\"");
      return;
    }
    std::string name = v->substr(4);
    if (!cfg_.sets.count(name)) {
      error(*pf->get("drop_from"), "prefilter.drop_from",
            "set '" + name + "' is not defined; define it under [sets]");
      return;
    }
    cfg_.prefilter.drop_from_set = name;
  }

  // from/to: "any", an address or CIDR, "set:NAME", "zone:NAME", or an
  // array of those. Returns false when the endpoint is unusable.
  bool parse_endpoint(const toml::node& n, const std::string& path, Endpoint& ep) {
    std::vector<const toml::node*> items;
    if (n.is_string()) {
      items.push_back(&n);
    } else if (const auto* arr = n.as_array()) {
      if (arr->empty()) {
        error(n, path, "empty list matches nothing; remove the key to match any address");
        return false;
      }
      for (const auto& item : *arr) items.push_back(&item);
    } else if (n.is_table() && n.as_table()->get("labels")) {
      error(n, path,
            "label selectors need workload identities from the CNI plugin, which this "
            "version does not have yet; use addresses, \"set:NAME\" or \"zone:NAME\"");
      return false;
    } else {
      error(n, path,
            "must be \"any\", an address or CIDR, \"set:NAME\", \"zone:NAME\", or an array of those");
      return false;
    }
    bool ok = true;
    ep.any = false;
    for (const auto* item : items) {
      if (!item->is_string()) {
        error(*item, path, "list items must be strings");
        ok = false;
        continue;
      }
      std::string s = *item->value<std::string>();
      ep.spelling.push_back(s);
      if (s == "any") {
        if (items.size() > 1) {
          error(*item, path, "\"any\" in a list with other addresses; keep only \"any\"");
          ok = false;
        }
        ep.any = true;
      } else if (s.rfind("set:", 0) == 0) {
        auto it = cfg_.sets.find(s.substr(4));
        if (it == cfg_.sets.end()) {
          error(*item, path, "set '" + s.substr(4) + "' is not defined; define it under [sets]");
          ok = false;
          continue;
        }
        ep.prefixes.insert(ep.prefixes.end(), it->second.prefixes.begin(), it->second.prefixes.end());
      } else if (s.rfind("zone:", 0) == 0) {
        auto it = cfg_.zones.find(s.substr(5));
        if (it == cfg_.zones.end()) {
          error(*item, path,
                "zone '" + s.substr(5) + "' is not defined; name it on an [[interface]] or under [zones]");
          ok = false;
          continue;
        }
        if (it->second.networks.empty()) {
          error(*item, path,
                "zone '" + s.substr(5) + "' has no networks; add networks = [...] under [zones." +
                    s.substr(5) + "]");
          ok = false;
          continue;
        }
        ep.prefixes.insert(ep.prefixes.end(), it->second.networks.begin(), it->second.networks.end());
      } else {
        auto parsed = parse_prefix(s);
        if (!parsed.prefix) {
          error(*item, path, parsed.error + " (nor \"any\", \"set:NAME\" or \"zone:NAME\")");
          ok = false;
          continue;
        }
        ep.prefixes.push_back(*parsed.prefix);
      }
    }
    if (ep.any) ep.prefixes.clear();
    return ok;
  }

  // port = 80 | "8000-8100" | [22, "8000-8100"]
  bool parse_ports(const toml::node& n, const std::string& path, std::vector<PortRange>& out) {
    std::vector<const toml::node*> items;
    if (const auto* arr = n.as_array()) {
      if (arr->empty()) {
        error(n, path, "empty port list matches nothing; remove the key to match any port");
        return false;
      }
      for (const auto& item : *arr) items.push_back(&item);
    } else {
      items.push_back(&n);
    }
    bool ok = true;
    for (const auto* item : items) {
      PortRange r;
      if (auto i = item->value_exact<int64_t>()) {
        if (*i < 1 || *i > 65535) {
          error(*item, path, "port " + std::to_string(*i) + " is out of range 1-65535");
          ok = false;
          continue;
        }
        r.first = r.last = static_cast<uint16_t>(*i);
      } else if (auto s = item->value_exact<std::string>()) {
        long a = -1, b = -1;
        char dash = 0, extra = 0;
        std::istringstream in(*s);
        if (!(in >> a >> dash >> b) || dash != '-' || (in >> extra)) {
          error(*item, path, "'" + *s + "' is not a port range; write \"FIRST-LAST\", e.g. \"8000-8100\"");
          ok = false;
          continue;
        }
        if (a < 1 || a > 65535 || b < 1 || b > 65535) {
          error(*item, path, "port range '" + *s + "' is out of range 1-65535");
          ok = false;
          continue;
        }
        if (a > b) {
          error(*item, path, "port range '" + *s + "' is reversed; write \"" + std::to_string(b) +
                                 "-" + std::to_string(a) + "\"");
          ok = false;
          continue;
        }
        r.first = static_cast<uint16_t>(a);
        r.last = static_cast<uint16_t>(b);
      } else {
        error(*item, path, "must be a port number, a \"FIRST-LAST\" range, or an array of those");
        ok = false;
        continue;
      }
      out.push_back(r);
    }
    return ok;
  }

  void parse_rules(const toml::table& root) {
    const toml::node* n = root.get("rule");
    if (!n) return;
    const auto* arr = n->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      error(*n, "rule", "must be an array of tables, written [[rule]]");
      return;
    }
    std::map<std::string, int> names;  // name -> line of first definition
    for (const auto& implicit : cfg_.rules) names[implicit.name] = implicit.where.line;
    for (size_t i = 0; i < arr->size(); ++i) {
      const auto& t = *arr->get(i)->as_table();
      std::string path = "rule[" + std::to_string(i) + "]";
      check_keys(t, path,
                 {"name", "chain", "from", "to", "proto", "port", "icmp_type", "action", "mode", "log",
                  "comment"});
      Rule r;
      r.where = loc(t);
      bool ok = true;

      if (auto name = string_at(t, "name", path + ".name")) {
        if (name->empty()) {
          error(*t.get("name"), path + ".name", "rule name must not be empty");
          ok = false;
        } else if (*name == kAntiLockoutRule) {
          error(*t.get("name"), path + ".name",
                "'" + *name + "' is reserved for the rule [api] management makes; choose another name");
          ok = false;
        } else if (auto prev = names.find(*name); prev != names.end()) {
          error(*t.get("name"), path + ".name",
                "duplicate rule name '" + *name + "' (first used at line " +
                    std::to_string(prev->second) + "); names must be unique");
          ok = false;
        } else {
          names[*name] = loc(*t.get("name")).line;
        }
        r.name = *name;
      } else {
        if (!t.get("name")) error(t, path, "missing key 'name'; every rule needs a unique name");
        ok = false;
      }
      if (!r.name.empty()) path = "rule '" + r.name + "'";

      ok &= enum_at<Chain>(t, "chain", path, "a chain",
                           {{"input", Chain::Input}, {"forward", Chain::Forward}, {"output", Chain::Output}},
                           true, r.chain);
      ok &= enum_at<Action>(t, "action", path, "an action",
                            {{"accept", Action::Accept}, {"drop", Action::Drop}, {"reject", Action::Reject}},
                            true, r.action);
      ok &= enum_at<bool>(t, "mode", path, "a mode", {{"enforce", false}, {"audit", true}}, false,
                          r.audit);
      ok &= enum_at<Protocol>(t, "proto", path, "a protocol",
                              {{"tcp", Protocol::Tcp}, {"udp", Protocol::Udp}, {"icmp", Protocol::Icmp},
                               {"icmpv6", Protocol::Icmpv6}, {"any", Protocol::Any}},
                              false, r.proto);

      if (const auto* port = t.get("port")) {
        if (r.proto != Protocol::Tcp && r.proto != Protocol::Udp) {
          error(*port, path + ".port",
                "ports need proto = \"tcp\" or \"udp\" (this rule's proto is " +
                    std::string(to_string(r.proto)) + ")");
          ok = false;
        } else {
          ok &= parse_ports(*port, path + ".port", r.ports);
        }
      }

      if (const auto* icmp = t.get("icmp_type")) {
        auto v = icmp->value_exact<int64_t>();
        if (r.proto != Protocol::Icmp && r.proto != Protocol::Icmpv6) {
          error(*icmp, path + ".icmp_type", "icmp_type needs proto = \"icmp\" or \"icmpv6\"");
          ok = false;
        } else if (!v || *v < 0 || *v > 255) {
          error(*icmp, path + ".icmp_type", "must be an ICMP type number 0-255");
          ok = false;
        } else {
          r.icmp_type = static_cast<uint8_t>(*v);
        }
      }

      if (const auto* log = t.get("log")) {
        if (auto b = log->value_exact<bool>()) r.log = *b;
        else {
          error(*log, path + ".log", "must be true or false");
          ok = false;
        }
      }
      string_at(t, "comment", path + ".comment");

      if (const auto* from = t.get("from")) ok &= parse_endpoint(*from, path + ".from", r.from);
      if (const auto* to = t.get("to")) ok &= parse_endpoint(*to, path + ".to", r.to);

      if (ok) ok = check_can_match(t, path, r);
      if (ok) cfg_.rules.push_back(std::move(r));
    }
  }

  // Rules whose parts exclude each other would silently never fire.
  bool check_can_match(const toml::table& t, const std::string& path, const Rule& r) {
    auto families = [](const Endpoint& ep) {
      std::set<Family> f;
      if (ep.any) return std::set<Family>{Family::V4, Family::V6};
      for (const auto& p : ep.prefixes) f.insert(p.family);
      return f;
    };
    // A side with no addresses names a set whose entries were all wrong:
    // those are reported already, and "can never match" would mislead.
    if ((!r.from.any && r.from.prefixes.empty()) || (!r.to.any && r.to.prefixes.empty())) return true;
    std::set<Family> both;
    auto from = families(r.from), to = families(r.to);
    std::set_intersection(from.begin(), from.end(), to.begin(), to.end(),
                          std::inserter(both, both.begin()));
    if (both.empty()) {
      // "to" may be absent: from names only addresses that failed to parse.
      const toml::node* where = t.get("to") ? t.get("to") : t.get("from") ? t.get("from") : &t;
      error(*where, path + (t.get("to") ? ".to" : ".from"),
            std::string("can never match: from has only ") +
                (from.count(Family::V4) ? "IPv4" : "IPv6") + " addresses and to only " +
                (to.count(Family::V4) ? "IPv4" : "IPv6") + " ones; split the rule by family");
      return false;
    }
    if (r.proto == Protocol::Icmp && !both.count(Family::V4)) {
      error(*t.get("proto"), path + ".proto",
            "can never match: icmp is IPv4 but the addresses are IPv6; use \"icmpv6\"");
      return false;
    }
    if (r.proto == Protocol::Icmpv6 && !both.count(Family::V6)) {
      error(*t.get("proto"), path + ".proto",
            "can never match: icmpv6 is IPv6 but the addresses are IPv4; use \"icmp\"");
      return false;
    }
    return true;
  }

  std::string file_;
  std::string base_dir_;
  std::vector<std::string> list_dirs_;  // where address lists may be read: base_dir_ first
  Config cfg_;
  Diagnostics diags_;
};

}  // namespace

ParseResult parse_string(std::string_view text, const std::string& source_name, const std::string& base_dir,
                         const std::vector<std::string>& list_dirs) {
  return Parser(source_name, base_dir, list_dirs).run(text);
}

ParseResult parse_file(const std::string& path, const std::vector<std::string>& list_dirs) {
  auto file = read_bounded_file(path, kMaxConfigBytes);
  if (!file.text) {
    ParseResult r;
    r.diagnostics.push_back({{path, 0, 0}, "", "cannot read config file: " + file.error});
    return r;
  }
  auto dir = std::filesystem::path(path).parent_path().string();
  return parse_string(*file.text, path, dir.empty() ? "." : dir, list_dirs);
}

}  // namespace sluice::config
