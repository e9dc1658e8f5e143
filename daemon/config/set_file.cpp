#include "config/set_file.h"

#include <string_view>

#include "config/bounded_file.h"

namespace sluice::config {

namespace {

const char* problem_text(PrefixParse::Problem p) {
  switch (p) {
    case PrefixParse::Problem::BadLength:
      return "prefix length out of range (0..32 for IPv4, 0..128 for IPv6)";
    case PrefixParse::Problem::HostBits:
      return "host bits set below the prefix length; write the prefix's first address";
    default:
      return "not an IPv4 or IPv6 address or prefix";
  }
}

}  // namespace

void parse_set_list(std::string_view text, const std::string& path, const std::string& key,
                    std::vector<Prefix>& out, Diagnostics& diags) {
  // A list of junk must not become millions of diagnostics.
  constexpr int kMaxProblems = 20;
  int problems = 0;
  int lineno = 0;
  while (!text.empty()) {
    ++lineno;
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    auto hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string_view::npos) continue;
    auto end = line.find_last_not_of(" \t\r");
    auto parsed = parse_prefix(line.substr(begin, end - begin + 1));
    if (!parsed.prefix) {
      if (++problems > kMaxProblems) {
        diags.push_back({{path, lineno, static_cast<int>(begin) + 1},
                         key,
                         "more lines are not addresses; reading stopped here"});
        break;
      }
      diags.push_back(
          {{path, lineno, static_cast<int>(begin) + 1}, key, problem_text(parsed.problem)});
      continue;
    }
    out.push_back(*parsed.prefix);
  }
}

std::optional<std::string> read_set_file(const std::string& path,
                                         const std::vector<std::string>& allowed_dirs,
                                         const std::string& key, std::vector<Prefix>& out,
                                         Diagnostics& diags) {
  auto file = read_bounded_file_inside(path, allowed_dirs, kMaxSetFileBytes);
  if (!file.text) return "cannot read address list '" + path + "': " + file.error;
  parse_set_list(*file.text, path, key, out, diags);
  return std::nullopt;
}

}  // namespace sluice::config
