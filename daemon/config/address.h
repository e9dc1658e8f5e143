// IP prefixes (addresses are /32 or /128 prefixes) as the config and the
// policy compiler see them.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

enum class Family : std::uint8_t { V4 = 4, V6 = 6 };

struct Prefix {
  Family family = Family::V4;
  // Network byte order; IPv4 uses the first 4 bytes, the rest stay zero.
  std::array<std::uint8_t, 16> addr{};
  std::uint8_t length = 0;

  int max_length() const { return family == Family::V4 ? 32 : 128; }
  int byte_size() const { return family == Family::V4 ? 4 : 16; }
  bool contains(const Prefix& other) const;  // other is inside this (or equal)
  bool contains_address(const std::array<std::uint8_t, 16>& a, Family f) const;
  std::string to_string() const;

  auto operator<=>(const Prefix&) const = default;
};

// Why a string is not a prefix; empty when it is one. problem says the
// same without quoting the text (for text the reader did not write).
struct PrefixParse {
  enum class Problem { None, NotAnAddress, BadLength, HostBits, NotForInterface };
  std::optional<Prefix> prefix;
  std::string error;
  Problem problem = Problem::None;
};

// Parses "192.0.2.1", "192.0.2.0/24", "2001:db8::/32". Host bits set below
// the prefix length are an error (the caller names the masked form).
PrefixParse parse_prefix(std::string_view text);

// Parses an interface address, "192.0.2.1/24": a host address and the
// length of its subnet, host bits kept. Without a length it is a /32 or
// /128.
PrefixParse parse_interface_address(std::string_view text);

// The prefix with host bits cleared.
Prefix masked(Prefix p);

}  // namespace sluice::config
