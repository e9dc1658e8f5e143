#include "config/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace sluice::config {

namespace {

bool bit_at(const std::array<std::uint8_t, 16>& a, int i) { return (a[i / 8] >> (7 - i % 8)) & 1; }

}  // namespace

bool Prefix::contains(const Prefix& other) const {
  if (other.family != family || other.length < length) return false;
  for (int i = 0; i < length; ++i)
    if (bit_at(addr, i) != bit_at(other.addr, i)) return false;
  return true;
}

bool Prefix::contains_address(const std::array<std::uint8_t, 16>& a, Family f) const {
  if (f != family) return false;
  int full = length / 8;
  for (int i = 0; i < full; ++i)
    if (addr[i] != a[i]) return false;
  int rest = length % 8;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (a[full] & mask);
}

std::string Prefix::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::V4 ? AF_INET : AF_INET6, addr.data(), buf, sizeof buf);
  std::string s = buf;
  if (length != max_length()) s += "/" + std::to_string(length);
  return s;
}

Prefix masked(Prefix p) {
  for (int i = p.length; i < 128; ++i)
    p.addr[i / 8] &= static_cast<std::uint8_t>(~(0x80 >> (i % 8)));
  return p;
}

namespace {

// An address with an optional /length; host bits are not looked at.
PrefixParse parse_address_and_length(std::string_view text) {
  PrefixParse out;
  auto slash = text.find('/');
  std::string addr_text(text.substr(0, slash));
  Prefix p;
  if (inet_pton(AF_INET, addr_text.c_str(), p.addr.data()) == 1) {
    p.family = Family::V4;
  } else if (inet_pton(AF_INET6, addr_text.c_str(), p.addr.data()) == 1) {
    p.family = Family::V6;
  } else {
    out.error = "'" + std::string(text) + "' is not an IPv4 or IPv6 address";
    out.problem = PrefixParse::Problem::NotAnAddress;
    return out;
  }
  p.length = static_cast<std::uint8_t>(p.max_length());
  if (slash != std::string_view::npos) {
    auto len_text = text.substr(slash + 1);
    int len = -1;
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc() || end != len_text.data() + len_text.size() || len < 0 ||
        len > p.max_length()) {
      out.error = "prefix length in '" + std::string(text) + "' must be 0.." +
                  std::to_string(p.max_length());
      out.problem = PrefixParse::Problem::BadLength;
      return out;
    }
    p.length = static_cast<std::uint8_t>(len);
  }
  out.prefix = p;
  return out;
}

}  // namespace

PrefixParse parse_prefix(std::string_view text) {
  PrefixParse out = parse_address_and_length(text);
  if (!out.prefix) return out;
  Prefix m = masked(*out.prefix);
  if (m.addr != out.prefix->addr) {
    out.error = "'" + std::string(text) + "' has host bits set; write " + m.to_string();
    out.problem = PrefixParse::Problem::HostBits;
    out.prefix.reset();
  }
  return out;
}

PrefixParse parse_interface_address(std::string_view text) {
  PrefixParse out = parse_address_and_length(text);
  if (!out.prefix) return out;
  const auto& a = out.prefix->addr;
  bool unspecified = std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
  bool multicast = out.prefix->family == Family::V4 ? (a[0] & 0xf0) == 0xe0 : a[0] == 0xff;
  if (unspecified || multicast) {
    out.error = "'" + std::string(text) + "' cannot be an interface address (" +
                (unspecified ? "unspecified" : "multicast") + ")";
    out.problem = PrefixParse::Problem::NotForInterface;
    out.prefix.reset();
  }
  return out;
}

}  // namespace sluice::config
