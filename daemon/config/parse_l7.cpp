// The L7 parts of the config: a rule's http / tls_sni / l7 keys and the
// [proxy] section (docs/policy.md "L7 rules", docs/config.md "[proxy]").
// Patterns are compiled here once to report their errors with a location;
// the proxy compiles them again for itself.
#include <re2/re2.h>

#include <cctype>

#include "config/parser_sections.h"
#include "config/selector.h"

namespace sluice::config::detail {

namespace {

// RFC 9110 token characters: methods and header names.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) ||
          std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos))
      return false;
  return true;
}

// "" when the pattern compiles, else RE2's words for what is wrong.
std::string regex_error(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(pattern, options);
  return re.ok() ? "" : re.error();
}

// A server name glob: letters, digits, "-", ".", "*" and "?", lowercase
// (names are compared without regard to case).
std::string host_glob_error(std::string_view glob) {
  if (glob.empty() || glob.size() > 253) return "must be 1-253 characters";
  for (unsigned char c : glob)
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '.' || c == '*' || c == '?'))
      return std::isupper(c) ? "must be lowercase (names are compared without regard to case)"
                             : "may hold only letters, digits, '-', '.', '*' and '?'";
  return "";
}

}  // namespace

// http = [{ method = "GET", path = "/api/v1/.*", host = "api.internal",
//           headers = { "X-Team" = "blue" } }, ...]
bool Parser::http_matches(const toml::node& n, const std::string& path, L7Policy& out) {
  const auto* arr = n.as_array();
  if (!arr || arr->empty()) {
    error(n, path,
          "must be a non-empty array of request matches, e.g. [{ method = \"GET\", path = "
          "\"/api/.*\" }]");
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto& item = *arr->get(i);
    std::string at = path + "[" + std::to_string(i) + "]";
    const auto* t = item.as_table();
    if (!t) {
      error(item, at, "must be a table like { method = \"GET\", path = \"/api/.*\" }");
      ok = false;
      continue;
    }
    check_keys(*t, at, {"method", "path", "host", "headers"});
    HttpMatch m;
    m.where = loc(item);
    if (auto method = string_at(*t, "method", at + ".method")) {
      if (!is_token(*method)) {
        error(*t->get("method"), at + ".method",
              "'" + *method + "' is not an HTTP method (a token such as \"GET\")");
        ok = false;
      }
      m.method = *method;
    }
    if (auto p = string_at(*t, "path", at + ".path")) {
      if (auto e = regex_error(*p); !e.empty()) {
        error(*t->get("path"), at + ".path", "not a valid RE2 pattern: " + e);
        ok = false;
      }
      m.path = *p;
    }
    if (auto h = string_at(*t, "host", at + ".host")) {
      if (auto e = host_glob_error(*h); !e.empty()) {
        error(*t->get("host"), at + ".host", "host name glob " + e);
        ok = false;
      }
      m.host = *h;
    }
    if (const auto* headers = t->get("headers")) ok &= header_matches(*headers, at + ".headers", m);
    out.http.push_back(std::move(m));
  }
  return ok;
}

// headers = { "X-Team" = "blue" }: header name -> RE2 of its whole value.
bool Parser::header_matches(const toml::node& n, const std::string& path, HttpMatch& m) {
  const auto* t = n.as_table();
  if (!t || t->empty()) {
    error(n, path, "must be a non-empty table of header name = value pattern");
    return false;
  }
  bool ok = true;
  for (const auto& [k, v] : *t) {
    std::string name(k.str()), at = path + "." + name;
    if (!is_token(name)) {
      error(loc(k.source()), at, "'" + name + "' is not a header name");
      ok = false;
      continue;
    }
    auto value = v.value_exact<std::string>();
    if (!value) {
      error(v, at, "must be a string (an RE2 pattern of the whole value)");
      ok = false;
      continue;
    }
    if (auto e = regex_error(*value); !e.empty()) {
      error(v, at, "not a valid RE2 pattern: " + e);
      ok = false;
      continue;
    }
    std::string lower;
    for (unsigned char c : name) lower += static_cast<char>(std::tolower(c));
    if (m.headers.count(lower)) {
      error(loc(k.source()), at, "header '" + name + "' is named twice (names ignore case)");
      ok = false;
      continue;
    }
    m.headers[lower] = *value;
  }
  return ok;
}

// l7 = { websocket = true, http2 = "opaque", idle_timeout = "10m",
//        upstream_timeout = "5m", max_body_bytes = 1073741824 }
bool Parser::l7_options(const toml::node& n, const std::string& path, L7Policy& out) {
  const auto* t = n.as_table();
  if (!t) {
    error(n, path, "must be a table, e.g. l7 = { websocket = true }");
    return false;
  }
  check_keys(*t, path,
             {"websocket", "http2", "idle_timeout", "upstream_timeout", "max_body_bytes"});
  bool ok = true;
  if (const auto* ws = t->get("websocket")) {
    if (auto b = ws->value_exact<bool>()) {
      out.websocket = *b;
    } else {
      error(*ws, path + ".websocket", "must be true or false");
      ok = false;
    }
  }
  ok &= enum_at<bool>(*t, "http2", path, "an HTTP/2 setting", {{"refuse", false}, {"opaque", true}},
                      false, out.http2_opaque);
  ok &= duration_at(*t, "idle_timeout", path, out.idle_timeout_seconds);
  ok &= duration_at(*t, "upstream_timeout", path, out.upstream_timeout_seconds);
  ok &= number_at(*t, "max_body_bytes", path, 1, 1ull << 40, out.max_body_bytes);
  return ok;
}

// A rule's http / tls_sni / l7 keys; only accept rules of TCP in the input
// or forward chain can carry them.
bool Parser::rule_l7(const toml::table& t, const std::string& path, Rule& r) {
  const toml::node* http = t.get("http");
  const toml::node* sni = t.get("tls_sni");
  const toml::node* options = t.get("l7");
  if (!http && !sni) {
    if (options)
      error(*options, path + ".l7", "l7 options need http = [...] or tls_sni = [...] beside them");
    return !options;
  }
  const toml::node& where = http ? *http : *sni;
  std::string key = path + (http ? ".http" : ".tls_sni");
  bool ok = true;
  if (r.proto != Protocol::Tcp) {
    error(where, key, "HTTP and TLS rules need proto = \"tcp\"");
    ok = false;
  }
  if (r.action != Action::Accept) {
    error(where, key,
          "only accept rules carry http/tls_sni (they say which requests the accepted flows may "
          "make); a drop or reject rule needs no proxy");
    ok = false;
  }
  if (r.chain == Chain::Output) {
    error(where, key,
          "the proxy serves the input and forward chains; traffic this host starts is not "
          "steered");
    ok = false;
  }
  L7Policy l7;
  if (http) ok &= http_matches(*http, path + ".http", l7);
  if (sni) {
    if (auto items = one_or_list(*sni, path + ".tls_sni", "server name")) {
      for (const auto* item : *items) {
        auto name = item->value<std::string>();
        std::string e = name ? host_glob_error(*name) : "must be a server name glob";
        if (!e.empty()) {
          error(*item, path + ".tls_sni", name ? "server name glob " + e : e);
          ok = false;
          continue;
        }
        l7.tls_sni.push_back(*name);
      }
    } else {
      ok = false;
    }
  }
  if (options) {
    ok &= l7_options(*options, path + ".l7", l7);
    if ((l7.websocket || l7.http2_opaque) && !http) {
      error(*options, path + ".l7", "websocket and http2 are about HTTP; they need http = [...]");
      ok = false;
    }
  }
  r.l7 = std::move(l7);
  return ok;
}

// A duration key ("30s", "10m"), stored in seconds; out keeps its value
// when the key is absent.
bool Parser::duration_at(const toml::table& t, std::string_view key, const std::string& path,
                         std::uint64_t& out) {
  const toml::node* n = t.get(key);
  if (!n) return true;
  auto text = n->value_exact<std::string>();
  auto secs = text ? parse_age(*text) : std::nullopt;
  if (!secs) {
    error(*n, path + "." + std::string(key), "must be a duration like \"30s\", \"10m\" or \"2h\"");
    return false;
  }
  out = *secs;
  return true;
}

// A whole number key within [low, high].
bool Parser::number_at(const toml::table& t, std::string_view key, const std::string& path,
                       std::uint64_t low, std::uint64_t high, std::uint64_t& out) {
  const toml::node* n = t.get(key);
  if (!n) return true;
  auto v = n->value_exact<std::int64_t>();
  if (!v || *v < 0 || static_cast<std::uint64_t>(*v) < low ||
      static_cast<std::uint64_t>(*v) > high) {
    error(*n, path + "." + std::string(key),
          "must be a whole number from " + std::to_string(low) + " to " + std::to_string(high));
    return false;
  }
  out = static_cast<std::uint64_t>(*v);
  return true;
}

// [proxy]: who the proxy runs as, its limits and timeouts.
void Parser::parse_proxy(const toml::table& root) {
  const auto* proxy = table_at(root, "proxy", "proxy");
  if (!proxy) return;
  check_keys(*proxy, "proxy",
             {"user", "max_request_line", "max_header_bytes", "max_headers", "max_body_bytes",
              "header_timeout", "idle_timeout", "upstream_connect_timeout", "upstream_timeout",
              "max_connections", "max_connections_per_source", "workers"});
  auto& p = cfg_.proxy;
  if (auto user = string_at(*proxy, "user", "proxy.user")) {
    bool valid = !user->empty() && user->size() <= 32 && *user != "root";
    for (unsigned char c : *user) valid &= std::isalnum(c) || c == '-' || c == '_';
    if (!valid)
      error(*proxy->get("user"), "proxy.user",
            "must be a user name (letters, digits, '-', '_'; not root): the proxy parses "
            "untrusted input and runs without privileges");
    else
      p.user = *user;
  }
  auto size = [&](std::string_view key, std::uint64_t low, std::uint64_t high, auto& field) {
    std::uint64_t v = field;
    number_at(*proxy, key, "proxy", low, high, v);
    field = static_cast<std::remove_reference_t<decltype(field)>>(v);
  };
  size("max_request_line", 256, 1 << 20, p.max_request_line);
  size("max_header_bytes", 1024, 1 << 22, p.max_header_bytes);
  size("max_headers", 8, 10000, p.max_headers);
  size("max_body_bytes", 1, 1ull << 40, p.max_body_bytes);
  size("max_connections", 16, 1'000'000, p.max_connections);
  size("max_connections_per_source", 1, 1'000'000, p.max_connections_per_source);
  size("workers", 0, 256, p.workers);
  duration_at(*proxy, "header_timeout", "proxy", p.header_timeout_seconds);
  duration_at(*proxy, "idle_timeout", "proxy", p.idle_timeout_seconds);
  duration_at(*proxy, "upstream_connect_timeout", "proxy", p.upstream_connect_timeout_seconds);
  duration_at(*proxy, "upstream_timeout", "proxy", p.upstream_timeout_seconds);
  if (p.max_request_line > p.max_header_bytes)
    error(*proxy, "proxy",
          "max_request_line (" + std::to_string(p.max_request_line) +
              ") is larger than max_header_bytes (" + std::to_string(p.max_header_bytes) +
              "), which includes the request line");
}

}  // namespace sluice::config::detail
