// Container selectors in rules (from/to = { labels = {...}, container =
// "glob" }) and the [[endpoint]] section that labels containers by name.
#include "config/parser_sections.h"
#include "config/selector.h"

namespace sluice::config::detail {

// labels = { app = "web", ... }: every key and value checked.
bool Parser::label_table(const toml::node& n, const std::string& path, Labels& out) {
  const auto* t = n.as_table();
  if (!t || t->empty()) {
    error(n, path, "must be a table of labels with at least one, e.g. { app = \"web\" }");
    return false;
  }
  bool ok = true;
  for (const auto& [key, value] : *t) {
    std::string k(key.str());
    std::string where = path + "." + k;
    if (auto why = label_key_error(k); !why.empty()) {
      error(loc(key.source()), where, why);
      ok = false;
    }
    auto v = value.value_exact<std::string>();
    if (!v) {
      error(value, where, "a label's value must be a string, in double quotes");
      ok = false;
    } else if (auto why = label_value_error(*v); !why.empty()) {
      error(value, where, why);
      ok = false;
    } else {
      out[k] = *v;
    }
  }
  return ok;
}

bool Parser::name_glob(const toml::table& t, std::string_view key, const std::string& path,
                       std::string& out) {
  auto glob = string_at(t, key, path);
  if (!glob) return !t.get(key);
  if (auto why = name_glob_error(*glob); !why.empty()) {
    error(*t.get(key), path, "container name glob " + why);
    return false;
  }
  out = *glob;
  return true;
}

// from/to = { labels = { app = "api" }, container = "api-*" }: the
// containers with all these labels and a name matching the glob.
bool Parser::selector_endpoint(const toml::table& t, const std::string& path, Endpoint& ep) {
  check_keys(t, path, {"labels", "container"});
  if (!t.get("labels") && !t.get("container")) {
    error(t, path, "a container selector needs labels = { ... } and/or container = \"glob\"");
    return false;
  }
  Selector s;
  bool ok = true;
  if (const auto* labels = t.get("labels")) ok &= label_table(*labels, path + ".labels", s.labels);
  ok &= name_glob(t, "container", path + ".container", s.container);
  if (!ok) return false;
  ep.any = false;
  std::string spelled = "containers";
  if (!s.container.empty()) spelled += " named " + s.container;
  if (!s.labels.empty()) spelled += (s.container.empty() ? " " : ", ") + to_string(s.labels);
  ep.spelling.push_back(spelled);
  ep.selector = std::move(s);
  return true;
}

// [[endpoint]]
// match = { container = "web-*", network = "sluice" }
// labels = { app = "web" }
void Parser::parse_endpoint_labels(const toml::table& root) {
  const auto* n = root.get("endpoint");
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    error(*n, "endpoint", "must be an array of tables ([[endpoint]])");
    return;
  }
  std::size_t i = 0;
  for (const auto& item : *arr) {
    std::string path = "endpoint[" + std::to_string(i++) + "]";
    const auto& t = *item.as_table();
    check_keys(t, path, {"match", "labels"});
    EndpointLabels e;
    e.where = loc(t);
    bool ok = true;
    const auto* match = t.get("match");
    if (!match || !match->is_table()) {
      error(match ? *match : item, path + ".match",
            "needs match = { container = \"glob\" } (and optionally network = \"NAME\")");
      ok = false;
    } else {
      const auto& m = *match->as_table();
      check_keys(m, path + ".match", {"container", "network"});
      ok &= name_glob(m, "container", path + ".match.container", e.match.container);
      if (!m.get("container")) {
        error(m, path + ".match",
              "missing key 'container' (a container name glob, e.g. \"web-*\")");
        ok = false;
      }
      if (auto net = string_at(m, "network", path + ".match.network")) e.network = *net;
    }
    if (const auto* labels = t.get("labels"))
      ok &= label_table(*labels, path + ".labels", e.labels);
    else {
      error(item, path, "missing key 'labels' (e.g. labels = { app = \"web\" })");
      ok = false;
    }
    if (ok) cfg_.endpoint_labels.push_back(std::move(e));
  }
}

}  // namespace sluice::config::detail
