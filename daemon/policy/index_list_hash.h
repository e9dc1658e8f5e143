// Hashing lists of rule or scope indexes, to intern them in unordered maps
// without turning each into a string first.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::policy {

struct IndexListHash {
  std::size_t operator()(const std::vector<std::uint32_t>& v) const noexcept {
    return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(v.data()),
                                                          v.size() * sizeof(std::uint32_t)));
  }
};

}  // namespace sluice::policy
