// The CNI specification versions sluice-cni speaks.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace sluice::cni {

inline constexpr std::array<std::string_view, 3> kSupportedVersions = {"0.4.0", "1.0.0", "1.1.0"};
inline constexpr std::string_view kNewestVersion = "1.1.0";

struct Version {
  int major = 0, minor = 0, patch = 0;
  auto operator<=>(const Version&) const = default;
};

// "1.0.0" -> {1, 0, 0}; nullopt when it is not three dot-separated numbers.
std::optional<Version> parse_version(std::string_view text);

bool is_supported(std::string_view version);

}  // namespace sluice::cni
