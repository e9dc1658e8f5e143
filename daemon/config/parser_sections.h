// The config parser's insides, shared by the files that parse its
// sections (parser.cpp: the walk and the entry points; parse_network.cpp,
// parse_rules.cpp, parse_service.cpp): a Parser walks the TOML tree once,
// building the Config and collecting every problem on the way. Not for use
// outside daemon/config: the rest of the daemon includes config/parser.h.
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/parser.h"

namespace sluice::config::detail {

using Keys = std::initializer_list<std::string_view>;

inline std::string join(Keys keys) {
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
    if (i > 0)
      s += ++i == choices.size() ? " or " : ", ";
    else
      ++i;
    s += "\"" + std::string(c.name) + "\"";
  }
  return s;
}

// Checked without opening: opening a FIFO would wait for a writer.
bool readable_regular_file(const std::string& path);

// Whether an [api] listen address (ADDRESS:PORT) is on loopback only.
bool loopback_listen(const std::string& listen);

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
      diags_.push_back({{file_, static_cast<int>(b.line), static_cast<int>(b.column)},
                        "",
                        "TOML syntax error: " + std::string(e.description())});
      return finish();
    }
    check_keys(
        root, "",
        {"api", "interface", "zones", "sets", "chains", "rule", "prefilter", "router", "route",
         "nat", "flows", "conntrack", "containers", "endpoint", "proxy", "kubernetes"});
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
    parse_conntrack(root);
    parse_containers(root);  // after interfaces: pools may not overlap theirs
    parse_endpoint_labels(root);
    parse_proxy(root);
    parse_kubernetes(root);
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
        error(t, path,
              "missing key '" + std::string(key) + "' (" + quoted_alternatives(choices) + ")");
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

  // Sections about the network (parse_network.cpp): zones, interfaces,
  // address sets, router and routes, NAT, the prefilter.
  void parse_zones(const toml::table& root);
  void parse_interfaces(const toml::table& root);
  std::vector<Prefix> interface_addresses(const toml::node& n, const std::string& path,
                                          std::map<Prefix, std::string>& seen);
  std::vector<Prefix> prefix_list(const toml::node& n, const std::string& path);
  void parse_sets(const toml::table& root);
  void parse_router(const toml::table& root);
  void parse_containers(const toml::table& root);
  std::optional<Prefix> container_pool(const toml::table& t, std::string_view key, Family family,
                                       int longest);
  void parse_routes(const toml::table& root);
  const Interface* configured_interface(const std::string& name) const;
  std::optional<std::string> nat_interface(const toml::table& t, std::string_view key,
                                           const std::string& path);
  std::optional<std::uint16_t> port_at(const toml::table& t, std::string_view key,
                                       const std::string& path);
  void parse_nat(const toml::table& root);
  void parse_masquerade(const toml::node& masq, const std::string& path);
  std::optional<PortForward> parse_port_forward(const toml::node& fwd, const std::string& path);
  void parse_prefilter(const toml::table& root);

  // The rules (parse_rules.cpp): chains, endpoints, ports, rules.
  void parse_chains(const toml::table& root);
  // interface_zones: in a rule, where a zone without networks stands for
  // its interfaces and a container selector may stand for containers
  // (elsewhere both are errors).
  bool parse_endpoint(const toml::node& n, const std::string& path, Endpoint& ep,
                      bool interface_zones = false);
  bool zone_endpoint(const toml::node& item, const std::string& path, const std::string& name,
                     bool in_rule, bool in_list, Endpoint& ep);
  bool rule_interfaces(const toml::table& t, const std::string& path, Rule& r);

  // Container selectors and [[endpoint]] labels (parse_endpoints.cpp).
  bool label_table(const toml::node& n, const std::string& path,
                   std::map<std::string, std::string>& out);
  bool name_glob(const toml::table& t, std::string_view key, const std::string& path,
                 std::string& out);
  bool selector_endpoint(const toml::table& t, const std::string& path, Endpoint& ep);
  void parse_endpoint_labels(const toml::table& root);
  bool interface_list(const toml::node& n, const std::string& path, std::vector<std::string>& out);
  std::optional<std::vector<const toml::node*>> one_or_list(const toml::node& n,
                                                            const std::string& path,
                                                            const std::string& what);
  bool parse_ports(const toml::node& n, const std::string& path, std::vector<PortRange>& out);
  void parse_rules(const toml::table& root);
  bool rule_name(const toml::table& t, const std::string& path, std::map<std::string, int>& names,
                 Rule& r);
  bool rule_match(const toml::table& t, const std::string& path, Rule& r);
  bool check_can_match(const toml::table& t, const std::string& path, const Rule& r);

  // L7 rules and the proxy (parse_l7.cpp).
  bool rule_l7(const toml::table& t, const std::string& path, Rule& r);
  bool http_matches(const toml::node& n, const std::string& path, L7Policy& out);
  bool header_matches(const toml::node& n, const std::string& path, HttpMatch& m);
  bool l7_options(const toml::node& n, const std::string& path, L7Policy& out);
  bool duration_at(const toml::table& t, std::string_view key, const std::string& path,
                   std::uint64_t& out);
  bool number_at(const toml::table& t, std::string_view key, const std::string& path,
                 std::uint64_t low, std::uint64_t high, std::uint64_t& out);
  void parse_proxy(const toml::table& root);

  // The daemon's own sections (parse_service.cpp): [api] and [flows].
  void parse_api(const toml::table& root);
  void parse_management(const toml::table& api);
  void parse_flows(const toml::table& root);
  void parse_conntrack(const toml::table& root);
  static std::optional<std::uint64_t> parse_age(const std::string& text);
  void parse_kubernetes(const toml::table& root);  // parse_kubernetes.cpp

  std::string file_;
  std::string base_dir_;
  std::vector<std::string> list_dirs_;  // where address lists may be read: base_dir_ first
  Config cfg_;
  Diagnostics diags_;
};

}  // namespace sluice::config::detail
