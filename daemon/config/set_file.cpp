#include "config/set_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sluice::config {

std::optional<std::string> read_set_file(const std::string& path, const std::string& key, std::vector<Prefix>& out,
                   Diagnostics& diags) {
  std::ifstream in(path);
  if (!in) return "cannot read address list '" + path + "': " + std::strerror(errno);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    auto begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos) continue;
    auto end = line.find_last_not_of(" \t\r");
    auto parsed = parse_prefix(std::string_view(line).substr(begin, end - begin + 1));
    if (!parsed.prefix) {
      diags.push_back({{path, lineno, static_cast<int>(begin) + 1}, key, parsed.error});
      continue;
    }
    out.push_back(*parsed.prefix);
  }
  return std::nullopt;
}

}  // namespace sluice::config
