#include "cni/versions.h"

#include <algorithm>
#include <charconv>

namespace sluice::cni {

std::optional<Version> parse_version(std::string_view text) {
  Version v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc{} || next == p || *parts[i] < 0) return std::nullopt;
    p = next;
  }
  if (p != end) return std::nullopt;
  return v;
}

bool is_supported(std::string_view version) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), version) !=
         kSupportedVersions.end();
}

}  // namespace sluice::cni
