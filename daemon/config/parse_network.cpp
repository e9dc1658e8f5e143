// The config sections of zones, interfaces and their addresses, address sets,
// [router], [[route]], [[nat]] and [prefilter].
#include <filesystem>
#include <map>
#include <tuple>

#include "config/parser_sections.h"
#include "config/set_file.h"

namespace sluice::config::detail {

void Parser::parse_zones(const toml::table& root) {
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

void Parser::parse_interfaces(const toml::table& root) {
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
std::vector<Prefix> Parser::interface_addresses(const toml::node& n, const std::string& path,
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

std::vector<Prefix> Parser::prefix_list(const toml::node& n, const std::string& path) {
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

void Parser::parse_sets(const toml::table& root) {
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

void Parser::parse_router(const toml::table& root) {
  const auto* router = table_at(root, "router", "router");
  if (!router) return;
  check_keys(*router, "router", {"forwarding", "fast_path"});
  enum_at<FastPath>(*router, "fast_path", "router", "a fast path setting",
                    {{"auto", FastPath::Auto}, {"on", FastPath::On}, {"off", FastPath::Off}}, false,
                    cfg_.fast_path);
  if (const auto* f = router->get("forwarding")) {
    if (auto b = f->value_exact<bool>())
      cfg_.forwarding = *b;
    else
      error(*f, "router.forwarding", "must be true or false");
  }
}

// [containers] ipv4 = "10.89.0.0/24", ipv6 = "fd00:89::/64"
void Parser::parse_containers(const toml::table& root) {
  const auto* t = table_at(root, "containers", "containers");
  if (!t) return;
  check_keys(*t, "containers", {"ipv4", "ipv6", "masquerade"});
  cfg_.containers.where = loc(*t);
  cfg_.containers.ipv4 = container_pool(*t, "ipv4", Family::V4, 30);
  cfg_.containers.ipv6 = container_pool(*t, "ipv6", Family::V6, 126);
  // masquerade = "wan0": containers' flows leaving by it take its address,
  // as a [[nat]] masquerade from the pools would.
  if (t->get("masquerade")) {
    auto itf = nat_interface(*t, "masquerade", "containers");
    if (!itf) return;
    Masquerade m;
    m.out_interface = *itf;
    m.where = loc(*t->get("masquerade"));
    m.from.any = false;
    for (const auto& pool : {cfg_.containers.ipv4, cfg_.containers.ipv6})
      if (pool) {
        m.from.prefixes.push_back(*pool);
        m.from.spelling.push_back(pool->to_string());
      }
    if (m.from.prefixes.empty()) {
      error(*t->get("masquerade"), "containers.masquerade",
            "needs a pool (ipv4 or ipv6) whose containers it translates");
      return;
    }
    cfg_.containers.masquerade = *itf;
    cfg_.masquerades.push_back(std::move(m));
  }
}

// A pool of container addresses: a network of the family with room for
// two addresses or more, apart from the networks of managed interfaces.
std::optional<Prefix> Parser::container_pool(const toml::table& t, std::string_view key,
                                             Family family, int longest) {
  std::string path = "containers." + std::string(key);
  auto text = string_at(t, key, path);
  if (!text) return std::nullopt;
  const toml::node& n = *t.get(key);
  auto p = parse_prefix(*text);
  if (!p.prefix) {
    error(n, path, p.error);
    return std::nullopt;
  }
  if (p.prefix->family != family || p.prefix->length > longest) {
    error(n, path,
          "'" + *text + "' is not an " + (family == Family::V4 ? "IPv4" : "IPv6") +
              " network of /" + std::to_string(longest) + " or wider, like \"" +
              (family == Family::V4 ? "10.89.0.0/24" : "fd00:89::/64") + "\"");
    return std::nullopt;
  }
  for (const auto& i : cfg_.interfaces)
    for (const auto& a : i.addresses)
      if (masked(a).contains(*p.prefix) || p.prefix->contains(masked(a))) {
        error(n, path,
              "'" + *text + "' overlaps " + a.to_string() + " of interface " + i.name +
                  "; containers need addresses of their own");
        return std::nullopt;
      }
  return p.prefix;
}

// [[route]] to = "10.20.0.0/16", via = "10.10.1.254", dev = "eth1"
void Parser::parse_routes(const toml::table& root) {
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
      if (!t.get("to"))
        error(t, path, "missing key 'to' (the destination network, e.g. \"10.20.0.0/16\")");
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
        error(*t.get("via"), path + ".via",
              "next hop " + *via + " is not of the same family as " + *to);
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

const Interface* Parser::configured_interface(const std::string& name) const {
  for (const auto& i : cfg_.interfaces)
    if (i.name == name) return &i;
  return nullptr;
}

// An interface key of a [[nat]] entry: it must be one sluice manages, or
// its programs would never see the traffic.
std::optional<std::string> Parser::nat_interface(const toml::table& t, std::string_view key,
                                                 const std::string& path) {
  auto name = string_at(t, key, path + "." + std::string(key));
  if (!name) {
    if (!t.get(key))
      error(t, path, "missing key '" + std::string(key) + "' (an [[interface]] name)");
    return std::nullopt;
  }
  if (!configured_interface(*name)) {
    error(*t.get(key), path + "." + std::string(key),
          "interface '" + *name + "' is not configured; add it as an [[interface]]");
    return std::nullopt;
  }
  return name;
}

std::optional<std::uint16_t> Parser::port_at(const toml::table& t, std::string_view key,
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
void Parser::parse_nat(const toml::table& root) {
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
      error(t, path,
            "a [[nat]] entry needs exactly one of masquerade = {...} or port_forward = {...}");
      continue;
    }
    if (masq) {
      parse_masquerade(*masq, path + ".masquerade");
      continue;
    }
    auto out = parse_port_forward(*fwd, path + ".port_forward");
    if (!out) continue;
    auto key = std::make_tuple(out->in_interface, out->proto, out->port);
    if (auto prev = forwarded.find(key); prev != forwarded.end()) {
      error(*fwd->as_table()->get("port"), path + ".port_forward.port",
            std::string(to_string(out->proto)) + " port " + std::to_string(out->port) + " on " +
                out->in_interface + " is already forwarded at line " +
                std::to_string(prev->second));
      continue;
    }
    forwarded[key] = out->where.line;
    cfg_.port_forwards.push_back(std::move(*out));
  }
}

// masquerade = { out_interface = "wan0", from = "zone:lan" }
void Parser::parse_masquerade(const toml::node& masq, const std::string& mpath) {
  if (!masq.is_table()) {
    error(masq, mpath, "must be a table, e.g. { out_interface = \"wan0\", from = \"zone:lan\" }");
    return;
  }
  const auto& m = *masq.as_table();
  check_keys(m, mpath, {"out_interface", "from"});
  Masquerade out;
  out.where = loc(masq);
  auto itf = nat_interface(m, "out_interface", mpath);
  bool ok = itf.has_value();
  if (const auto* from = m.get("from")) ok &= parse_endpoint(*from, mpath + ".from", out.from);
  if (!ok) return;
  out.out_interface = *itf;
  cfg_.masquerades.push_back(std::move(out));
}

// port_forward = { in_interface = "wan0", proto = "tcp", port = 80,
//                  to = "192.168.1.10", to_port = 8080 }; nullopt when bad
// (reported).
std::optional<PortForward> Parser::parse_port_forward(const toml::node& fwd,
                                                      const std::string& fpath) {
  if (!fwd.is_table()) {
    error(fwd, fpath,
          "must be a table, e.g. { in_interface = \"wan0\", proto = \"tcp\", port = 80, to = "
          "\"192.168.1.10\" }");
    return std::nullopt;
  }
  const auto& f = *fwd.as_table();
  check_keys(f, fpath, {"in_interface", "proto", "port", "to", "to_port"});
  PortForward out;
  out.where = loc(fwd);
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
  if (!ok) return std::nullopt;
  out.in_interface = *itf;
  out.port = *port;
  out.to_port = to_port.value_or(*port);
  return out;
}

void Parser::parse_prefilter(const toml::table& root) {
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

}  // namespace sluice::config::detail
