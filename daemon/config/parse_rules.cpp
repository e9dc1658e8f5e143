// The config sections of [chains] and [[rule]]: endpoints, ports, and rules
// that could never match.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "config/parser_sections.h"

namespace sluice::config::detail {

void Parser::parse_chains(const toml::table& root) {
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
                      {{"accept", Action::Accept}, {"drop", Action::Drop}}, true,
                      cfg_.chain_defaults[c]);
      enum_at<bool>(*t->as_table(), "mode", path, "a mode", {{"enforce", false}, {"audit", true}},
                    false, cfg_.chain_audit[c]);
      continue;
    }
    enum_at<Action>(*chains, key, "chains", "a chain default",
                    {{"accept", Action::Accept}, {"drop", Action::Drop}}, false,
                    cfg_.chain_defaults[c]);
  }
}

// from/to: "any", an address or CIDR, "set:NAME", "zone:NAME", or an
// array of those. Returns false when the endpoint is unusable.
bool Parser::parse_endpoint(const toml::node& n, const std::string& path, Endpoint& ep,
                            bool interface_zones) {
  std::vector<const toml::node*> items;
  if (n.is_string()) {
    items.push_back(&n);
  } else if (const auto* arr = n.as_array()) {
    if (arr->empty()) {
      error(n, path, "empty list matches nothing; remove the key to match any address");
      return false;
    }
    for (const auto& item : *arr) items.push_back(&item);
  } else if (n.is_table() && interface_zones) {
    return selector_endpoint(*n.as_table(), path, ep);
  } else {
    error(n, path,
          std::string("must be \"any\", an address or CIDR, \"set:NAME\", \"zone:NAME\", or an "
                      "array of those") +
              (interface_zones ? ", or a container selector { labels = { ... } }" : ""));
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
      ok &= zone_endpoint(*item, path, s.substr(5), interface_zones, items.size() > 1, ep);
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

// "zone:NAME" in an endpoint: its networks or, in a rule and alone, its
// interfaces. Returns false when the zone is unusable here.
bool Parser::zone_endpoint(const toml::node& item, const std::string& path, const std::string& name,
                           bool in_rule, bool in_list, Endpoint& ep) {
  auto it = cfg_.zones.find(name);
  if (it == cfg_.zones.end()) {
    error(item, path,
          "zone '" + name + "' is not defined; name it on an [[interface]] or under [zones]");
    return false;
  }
  if (!it->second.networks.empty()) {
    ep.prefixes.insert(ep.prefixes.end(), it->second.networks.begin(), it->second.networks.end());
    return true;
  }
  // A zone of interfaces: "arrived on / leaves by" one of them.
  std::vector<std::string> names;
  for (const auto& itf : cfg_.interfaces)
    if (itf.zone == name) names.push_back(itf.name);
  if (!in_rule || names.empty()) {
    error(item, path,
          "zone '" + name + "' has no networks; add networks = [...] under [zones." + name + "]" +
              (in_rule ? "" : " (only rules match zones by their interfaces)"));
    return false;
  }
  if (in_list) {
    error(item, path,
          "zone '" + name +
              "' has no networks, so it matches by interface, which cannot be listed with "
              "addresses; write a rule for each");
    return false;
  }
  ep.interfaces = std::move(names);
  ep.any = true;
  return true;
}

// A value, or a non-empty array of values; an empty array is an error.
std::optional<std::vector<const toml::node*>> Parser::one_or_list(const toml::node& n,
                                                                  const std::string& path,
                                                                  const std::string& what) {
  std::vector<const toml::node*> items;
  if (const auto* arr = n.as_array()) {
    if (arr->empty()) {
      error(n, path,
            "empty " + what + " list matches nothing; remove the key to match any " + what);
      return std::nullopt;
    }
    for (const auto& item : *arr) items.push_back(&item);
  } else {
    items.push_back(&n);
  }
  return items;
}

// A list of [[interface]] names (in_interface, out_interface).
bool Parser::interface_list(const toml::node& n, const std::string& path,
                            std::vector<std::string>& out) {
  auto items = one_or_list(n, path, "interface");
  if (!items) return false;
  bool ok = true;
  for (const auto* item : *items) {
    auto name = item->value<std::string>();
    if (!name) {
      error(*item, path, "must be an interface name or a list of them");
      ok = false;
      continue;
    }
    bool managed = std::any_of(cfg_.interfaces.begin(), cfg_.interfaces.end(),
                               [&](const Interface& i) { return i.name == *name; });
    if (!managed) {
      error(*item, path,
            "interface '" + *name +
                "' is not one sluice manages, so no packet of it is ever seen; add an "
                "[[interface]] with name = \"" +
                *name + "\"");
      ok = false;
      continue;
    }
    if (std::find(out.begin(), out.end(), *name) == out.end()) out.push_back(*name);
  }
  return ok;
}

// in_interface / out_interface, or a zone of interfaces in from / to; and
// whether the chain has such an interface at all.
bool Parser::rule_interfaces(const toml::table& t, const std::string& path, Rule& r) {
  bool ok = true;
  struct Side {
    const char* key;
    const char* endpoint;
    std::vector<std::string>& names;
    const Endpoint& ep;
    Chain without;  // the chain whose packets have no such interface
    const char* why;
  };
  Side sides[] = {
      {"in_interface", "from", r.in_interfaces, r.from, Chain::Output,
       "packets of the output chain come from this host, not in by an interface"},
      {"out_interface", "to", r.out_interfaces, r.to, Chain::Input,
       "packets of the input chain are for this host and leave by no interface"},
  };
  for (auto& side : sides) {
    const auto* n = t.get(side.key);
    if (n) ok &= interface_list(*n, path + "." + side.key, side.names);
    if (!side.ep.interfaces.empty()) {
      if (n) {
        error(*n, path + "." + side.key,
              std::string("give either ") + side.key + " or a zone of interfaces in " +
                  side.endpoint + ", not both");
        ok = false;
      }
      side.names = side.ep.interfaces;
    }
    if (!side.names.empty() && r.chain == side.without) {
      const toml::node* where = n ? n : t.get(side.endpoint);
      error(where ? *where : static_cast<const toml::node&>(t), path + "." + side.key,
            std::string("can never match: ") + side.why);
      ok = false;
    }
  }
  return ok;
}

// port = 80 | "8000-8100" | [22, "8000-8100"]
bool Parser::parse_ports(const toml::node& n, const std::string& path,
                         std::vector<PortRange>& out) {
  auto items = one_or_list(n, path, "port");
  if (!items) return false;
  bool ok = true;
  for (const auto* item : *items) {
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
        error(*item, path,
              "'" + *s + "' is not a port range; write \"FIRST-LAST\", e.g. \"8000-8100\"");
        ok = false;
        continue;
      }
      if (a < 1 || a > 65535 || b < 1 || b > 65535) {
        error(*item, path, "port range '" + *s + "' is out of range 1-65535");
        ok = false;
        continue;
      }
      if (a > b) {
        error(*item, path,
              "port range '" + *s + "' is reversed; write \"" + std::to_string(b) + "-" +
                  std::to_string(a) + "\"");
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

void Parser::parse_rules(const toml::table& root) {
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
               {"name", "chain", "from", "to", "in_interface", "out_interface", "proto", "port",
                "icmp_type", "action", "mode", "log", "comment", "http", "tls_sni", "l7"});
    Rule r;
    r.where = loc(t);
    bool ok = rule_name(t, path, names, r);
    if (!r.name.empty()) path = "rule '" + r.name + "'";
    ok &= enum_at<Chain>(
        t, "chain", path, "a chain",
        {{"input", Chain::Input}, {"forward", Chain::Forward}, {"output", Chain::Output}}, true,
        r.chain);
    ok &= enum_at<Action>(
        t, "action", path, "an action",
        {{"accept", Action::Accept}, {"drop", Action::Drop}, {"reject", Action::Reject}}, true,
        r.action);
    ok &= enum_at<bool>(t, "mode", path, "a mode", {{"enforce", false}, {"audit", true}}, false,
                        r.audit);
    ok &= enum_at<Protocol>(t, "proto", path, "a protocol",
                            {{"tcp", Protocol::Tcp},
                             {"udp", Protocol::Udp},
                             {"icmp", Protocol::Icmp},
                             {"icmpv6", Protocol::Icmpv6},
                             {"any", Protocol::Any}},
                            false, r.proto);
    ok &= rule_match(t, path, r);
    ok &= rule_l7(t, path, r);
    if (ok) ok = check_can_match(t, path, r);
    if (ok) cfg_.rules.push_back(std::move(r));
  }
}

// A rule's name: present, not the reserved one, not used before.
bool Parser::rule_name(const toml::table& t, const std::string& path,
                       std::map<std::string, int>& names, Rule& r) {
  auto name = string_at(t, "name", path + ".name");
  if (!name) {
    if (!t.get("name")) error(t, path, "missing key 'name'; every rule needs a unique name");
    return false;
  }
  r.name = *name;
  if (name->empty()) {
    error(*t.get("name"), path + ".name", "rule name must not be empty");
    return false;
  }
  if (*name == kAntiLockoutRule) {
    error(*t.get("name"), path + ".name",
          "'" + *name + "' is reserved for the rule [api] management makes; choose another name");
    return false;
  }
  if (auto prev = names.find(*name); prev != names.end()) {
    error(*t.get("name"), path + ".name",
          "duplicate rule name '" + *name + "' (first used at line " +
              std::to_string(prev->second) + "); names must be unique");
    return false;
  }
  names[*name] = loc(*t.get("name")).line;
  return true;
}

// What a rule matches besides chain and protocol: ports, ICMP type,
// endpoints; and its log flag and comment.
bool Parser::rule_match(const toml::table& t, const std::string& path, Rule& r) {
  bool ok = true;
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
    if (auto b = log->value_exact<bool>()) {
      r.log = *b;
    } else {
      error(*log, path + ".log", "must be true or false");
      ok = false;
    }
  }
  string_at(t, "comment", path + ".comment");
  if (const auto* from = t.get("from")) ok &= parse_endpoint(*from, path + ".from", r.from, true);
  if (const auto* to = t.get("to")) ok &= parse_endpoint(*to, path + ".to", r.to, true);
  if (ok) ok = rule_interfaces(t, path, r);
  return ok;
}

// Rules whose parts exclude each other would silently never fire.
bool Parser::check_can_match(const toml::table& t, const std::string& path, const Rule& r) {
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

}  // namespace sluice::config::detail
