// One L7 rule as the proxy applies it: its request matches compiled once
// (RE2: linear time, whatever the input), asked for each request or
// ClientHello of the flows the rule accepted. docs/policy.md "L7 rules".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "proxy/request_head.h"

namespace re2 {
class RE2;
}

namespace sluice::proxy {

class HttpPolicy {
 public:
  // Throws std::invalid_argument for a pattern RE2 refuses (the config
  // parser has refused it before).
  explicit HttpPolicy(const config::L7Policy& policy);
  ~HttpPolicy();
  HttpPolicy(HttpPolicy&&) noexcept;
  HttpPolicy& operator=(HttpPolicy&&) noexcept;

  // The index of the first http entry the request matches; nullopt: none.
  // A header named in an entry must be present, and every copy of it must
  // match (a server may read any of them).
  std::optional<std::size_t> match(const RequestHead& request) const;
  // Whether a TLS server name (any case) matches one of tls_sni.
  bool allows_server_name(std::string_view name) const;

  const config::L7Policy& source() const { return source_; }

 private:
  struct Entry;
  config::L7Policy source_;
  std::vector<Entry> entries_;
};

}  // namespace sluice::proxy
