#include "flows/flow_filter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <iterator>

namespace sluice::flows {

namespace {

bool is_address(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

template <typename Int>
bool parse_int(const std::string& text, Int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// "1700000000" (epoch seconds) or "90s"/"15m"/"2h"/"7d" back from now.
std::optional<std::int64_t> parse_time(const std::string& text, std::int64_t now_ms) {
  std::int64_t n = 0;
  // Epoch seconds up to the year 9999 (beyond, milliseconds would overflow).
  if (parse_int(text, n)) return n < 0 || n > 253402300799 ? std::nullopt : std::optional(n * 1000);
  if (text.size() < 2) return std::nullopt;
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1000;
      break;
    case 'm':
      unit = 60 * 1000;
      break;
    case 'h':
      unit = 3600 * 1000;
      break;
    case 'd':
      unit = 86400 * 1000;
      break;
    default:
      return std::nullopt;
  }
  if (!parse_int(text.substr(0, text.size() - 1), n) || n < 0 || n > 3650 * 86400LL)
    return std::nullopt;
  return now_ms - n * unit;
}

}  // namespace

bool FlowFilter::matches(const FlowRecord& r) const {
  // A translated flow matches by its inside and its outside address.
  bool translated_src = r.nat == "masquerade";
  bool translated_dst = r.nat == "port-forward";
  if (from && *from != r.src && !(translated_src && *from == r.nat_addr)) return false;
  if (to && *to != r.dst && !(translated_dst && *to == r.nat_addr)) return false;
  if (address && *address != r.src && *address != r.dst &&
      !(!r.nat.empty() && *address == r.nat_addr))
    return false;
  if (port && *port != r.sport && *port != r.dport && !(!r.nat.empty() && *port == r.nat_port))
    return false;
  if (verdict && *verdict != r.verdict) return false;
  if (rule && *rule != r.rule) return false;
  if (since_ms && r.time_ms < *since_ms) return false;
  if (until_ms && r.time_ms >= *until_ms) return false;
  if (l7 && (*l7 == "yes"  ? r.l7.kind.empty()
             : *l7 == "no" ? !r.l7.kind.empty()
                           : *l7 != r.l7.kind))
    return false;
  return true;
}

std::string set_filter_term(FlowFilter& f, const std::string& key, const std::string& value,
                            std::int64_t now_ms) {
  if (key == "from" || key == "to" || key == "address") {
    if (!is_address(value)) return key + ": '" + value + "' is not an IPv4 or IPv6 address";
    (key == "from" ? f.from : key == "to" ? f.to : f.address) = value;
    return {};
  }
  if (key == "port") {
    unsigned port = 0;
    if (!parse_int(value, port) || port == 0 || port > 65535)
      return "port: '" + value + "' is not a port (1-65535)";
    f.port = static_cast<std::uint16_t>(port);
    return {};
  }
  if (key == "verdict") {
    f.verdict = parse_verdict(value);
    if (!f.verdict)
      return "verdict: '" + value +
             "' is not one of allowed, dropped, rejected, audit, translated, closed";
    return {};
  }
  if (key == "rule") {
    if (value.empty() || value.size() > 256) return "rule: a rule name is 1 to 256 characters";
    f.rule = value;
    return {};
  }
  if (key == "since" || key == "until") {
    auto t = parse_time(value, now_ms);
    if (!t)
      return key + ": '" + value +
             "' is neither seconds since the epoch nor a duration like 15m, 2h, 7d";
    (key == "since" ? f.since_ms : f.until_ms) = *t;
    return {};
  }
  if (key == "l7") {
    static const char* kinds[] = {"yes", "no", "http", "websocket", "tls", "http2", "tcp"};
    if (std::find(std::begin(kinds), std::end(kinds), value) == std::end(kinds))
      return "l7: '" + value + "' is not one of yes, no, http, websocket, tls, http2, tcp";
    f.l7 = value;
    return {};
  }
  return "unknown filter '" + key + "' (from, to, address, port, verdict, rule, since, until, l7)";
}

}  // namespace sluice::flows
