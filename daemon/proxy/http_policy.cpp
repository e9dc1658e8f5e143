#include "proxy/http_policy.h"

#include <re2/re2.h>

#include <cctype>
#include <stdexcept>

#include "config/selector.h"
#include "proxy/ascii.h"

namespace sluice::proxy {

struct HttpPolicy::Entry {
  const config::HttpMatch* source = nullptr;
  std::unique_ptr<re2::RE2> path;  // null: any path
  std::vector<std::pair<std::string, std::unique_ptr<re2::RE2>>> headers;
};

namespace {

std::unique_ptr<re2::RE2> compile(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(pattern, options);
  if (!re->ok()) throw std::invalid_argument("pattern '" + pattern + "': " + re->error());
  return re;
}

}  // namespace

HttpPolicy::HttpPolicy(const config::L7Policy& policy) : source_(policy) {
  for (const auto& m : source_.http) {
    Entry e;
    e.source = &m;
    if (!m.path.empty()) e.path = compile(m.path);
    for (const auto& [name, value] : m.headers) e.headers.emplace_back(name, compile(value));
    entries_.push_back(std::move(e));
  }
}

HttpPolicy::~HttpPolicy() = default;
HttpPolicy::HttpPolicy(HttpPolicy&&) noexcept = default;
HttpPolicy& HttpPolicy::operator=(HttpPolicy&&) noexcept = default;

std::optional<std::size_t> HttpPolicy::match(const RequestHead& request) const {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const auto& e = entries_[i];
    if (!e.source->method.empty() && e.source->method != request.method) continue;
    if (!e.source->host.empty() && !config::glob_matches(e.source->host, request.host)) continue;
    if (e.path && !re2::RE2::FullMatch(request.path, *e.path)) continue;
    bool all = true;
    for (const auto& [name, pattern] : e.headers) {
      bool seen = false;
      for (const auto& [n, v] : request.headers) {
        if (n != name) continue;
        seen = true;
        if (!re2::RE2::FullMatch(v, *pattern)) {
          all = false;
          break;
        }
      }
      if (!seen || !all) {
        all = false;
        break;
      }
    }
    if (all) return i;
  }
  return std::nullopt;
}

bool HttpPolicy::allows_server_name(std::string_view name) const {
  std::string lower(name);
  for (auto& c : lower) c = ascii_lower(c);
  for (const auto& glob : source_.tls_sni)
    if (config::glob_matches(glob, lower)) return true;
  return false;
}

}  // namespace sluice::proxy
