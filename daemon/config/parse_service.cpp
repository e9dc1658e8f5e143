// The config sections of the daemon's own sections, [api] and [flows].
#include <charconv>

#include "config/parser_sections.h"

namespace sluice::config::detail {

void Parser::parse_api(const toml::table& root) {
  const auto* api = table_at(root, "api", "api");
  if (!api) return;
  check_keys(*api, "api",
             {"listen", "management", "management_ports", "anti_lockout", "tls_cert", "tls_key",
              "insecure_plaintext"});
  if (auto listen = string_at(*api, "listen", "api.listen")) {
    cfg_.api_listen = *listen;
    auto colon = listen->rfind(':');
    int port = colon == std::string::npos ? 0 : std::atoi(listen->c_str() + colon + 1);
    if (!listen->empty() && (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535))
      error(*api->get("listen"), "api.listen",
            "must be ADDRESS:PORT, e.g. \"127.0.0.1:9090\" or \"[::1]:9090\" (\"\" turns the API "
            "off)");
  }
  auto cert = string_at(*api, "tls_cert", "api.tls_cert");
  auto key = string_at(*api, "tls_key", "api.tls_key");
  if (cert.has_value() != key.has_value()) {
    error(*api, "api", "tls_cert and tls_key go together (a certificate and its private key)");
  } else if (cert) {
    for (const auto& [k, v] : {std::pair{"tls_cert", *cert}, std::pair{"tls_key", *key}})
      if (!readable_regular_file(resolve(v)))
        error(*api->get(k), std::string("api.") + k,
              "cannot read '" + resolve(v) + "' (a readable regular file)");
    cfg_.api_tls_cert = resolve(*cert);
    cfg_.api_tls_key = resolve(*key);
  }
  // Passwords and session cookies in the clear beyond this host: only
  // when the operator says so in as many words.
  bool plaintext_ok = false;
  if (const auto* flag = api->get("insecure_plaintext")) {
    if (auto b = flag->value_exact<bool>())
      plaintext_ok = *b;
    else
      error(*flag, "api.insecure_plaintext", "must be true or false");
  }
  if (const auto* listen = api->get("listen"); listen && !cert && !plaintext_ok &&
                                               !cfg_.api_listen.empty() &&
                                               !loopback_listen(cfg_.api_listen))
    error(*listen, "api.listen",
          "'" + cfg_.api_listen +
              "' is reachable from other hosts, and without TLS passwords and session "
              "cookies would cross the network in the clear; set tls_cert and tls_key, listen on "
              "127.0.0.1, or "
              "set insecure_plaintext = true to accept that");

  parse_management(*api);
}

// management = sources, management_ports = ports: the anti-lockout rule,
// which always lets the management sources reach the management ports
// (rule 0, whatever the rules below say).
void Parser::parse_management(const toml::table& api) {
  const toml::node* mgmt = api.get("management");
  bool enabled = true;
  if (const auto* flag = api.get("anti_lockout")) {
    if (auto b = flag->value_exact<bool>())
      enabled = *b;
    else
      error(*flag, "api.anti_lockout", "must be true or false");
  }
  if (!mgmt) {
    if (api.get("management_ports"))
      error(*api.get("management_ports"), "api.management_ports",
            "management_ports needs management = ... (the sources always let in)");
    return;
  }
  Rule r;
  r.name = kAntiLockoutRule;
  r.chain = Chain::Input;
  r.proto = Protocol::Tcp;
  r.action = Action::Accept;
  r.implicit = true;
  r.where = loc(*mgmt);
  if (!parse_endpoint(*mgmt, "api.management", r.from)) return;
  if (const auto* ports = api.get("management_ports")) {
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

// [flows] memory = 10000, history = true, history_max_age = "7d",
// history_max_mb = 256
void Parser::parse_flows(const toml::table& root) {
  const auto* flows = table_at(root, "flows", "flows");
  if (!flows) return;
  check_keys(*flows, "flows", {"events", "memory", "history", "history_max_age", "history_max_mb"});
  auto& out = cfg_.flows;
  enum_at<FlowEvents>(*flows, "events", "flows", "a flow event setting",
                      {{"all", FlowEvents::All}, {"denied", FlowEvents::Denied}}, false,
                      out.events);
  if (const auto* n = flows->get("memory")) {
    auto v = n->value_exact<std::int64_t>();
    if (v && *v >= 100 && *v <= 10'000'000)
      out.memory = static_cast<std::size_t>(*v);
    else
      error(*n, "flows.memory", "must be a number of flow records from 100 to 10000000");
  }
  if (const auto* n = flows->get("history")) {
    if (auto b = n->value_exact<bool>())
      out.history = *b;
    else
      error(*n, "flows.history", "must be true or false");
  }
  if (const auto* n = flows->get("history_max_age")) {
    auto text = n->value_exact<std::string>();
    auto secs = text ? parse_age(*text) : std::nullopt;
    if (secs)
      out.history_max_age_seconds = *secs;
    else
      error(*n, "flows.history_max_age",
            "must be a duration like \"90s\", \"30m\", \"12h\" or \"7d\"");
  }
  if (const auto* n = flows->get("history_max_mb")) {
    auto v = n->value_exact<std::int64_t>();
    if (v && *v >= 1 && *v <= 1'000'000)
      out.history_max_mb = static_cast<std::uint64_t>(*v);
    else
      error(*n, "flows.history_max_mb", "must be a size in MiB from 1 to 1000000");
  }
}

// [conntrack] entries = 1000000 (the TCP table), other_entries = 500000
// (every other protocol's), or "auto" (the default: entries from the
// host's memory, other_entries half of entries; datapath/table_sizes.cpp).
void Parser::parse_conntrack(const toml::table& root) {
  const auto* t = table_at(root, "conntrack", "conntrack");
  if (!t) return;
  check_keys(*t, "conntrack", {"entries", "other_entries"});
  auto size = [&](const char* key, std::size_t& out) {
    const auto* n = t->get(key);
    if (!n) return;
    if (auto text = n->value_exact<std::string>(); text && *text == "auto") {
      out = 0;
      return;
    }
    auto v = n->value_exact<std::int64_t>();
    if (v && *v >= kMinConntrackEntries && *v <= kMaxConntrackEntries)
      out = static_cast<std::size_t>(*v);
    else
      error(*n, std::string("conntrack.") + key,
            "must be \"auto\" or a number of entries from " + std::to_string(kMinConntrackEntries) +
                " to " + std::to_string(kMaxConntrackEntries));
  };
  size("entries", cfg_.conntrack.entries);
  size("other_entries", cfg_.conntrack.other_entries);
}

// "90s", "30m", "12h", "7d" -> seconds.
std::optional<std::uint64_t> Parser::parse_age(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  std::uint64_t unit = text.back() == 's'   ? 1
                       : text.back() == 'm' ? 60
                       : text.back() == 'h' ? 3600
                       : text.back() == 'd' ? 86400
                                            : 0;
  std::uint64_t n = 0;
  auto digits = std::string_view(text).substr(0, text.size() - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (unit == 0 || ec != std::errc() || end != digits.data() + digits.size() || n == 0 ||
      n > 36500 * 86400ull / unit)
    return std::nullopt;
  return n * unit;
}

}  // namespace sluice::config::detail
