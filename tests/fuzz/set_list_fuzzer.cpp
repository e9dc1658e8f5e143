// Address list files (sets with file = ...) on arbitrary text: every line
// is a prefix or a located diagnostic, never quoted, at most 21 of them.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "config/set_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<sluice::config::Prefix> out;
  sluice::config::Diagnostics diags;
  sluice::config::parse_set_list(text, "list.txt", "sets.x", out, diags);
  if (diags.size() > 21) __builtin_trap();
  // Never the line's own text: only the fixed kinds of problem.
  static const std::set<std::string> kinds = {
      "not an IPv4 or IPv6 address or prefix",
      "prefix length out of range (0..32 for IPv4, 0..128 for IPv6)",
      "host bits set below the prefix length; write the prefix's first address",
      "more lines are not addresses; reading stopped here"};
  for (const auto& d : diags)
    if (d.where.line < 1 || d.where.column < 1 || !kinds.count(d.message)) __builtin_trap();
  for (const auto& p : out)
    if (p.length > p.max_length()) __builtin_trap();
  return 0;
}
