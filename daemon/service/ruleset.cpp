#include "service/ruleset.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/parser.h"
#include "policy/compiler.h"

namespace sluice::service {

LoadResult load_ruleset_text(const std::string& text, const std::string& path) {
  LoadResult out;
  auto dir = std::filesystem::path(path).parent_path().string();
  auto parsed = config::parse_string(text, path, dir.empty() ? "." : dir);
  if (!parsed.config) {
    out.diagnostics = std::move(parsed.diagnostics);
    return out;
  }
  try {
    auto compiled = policy::compile(*parsed.config);
    out.ruleset = Ruleset{std::move(*parsed.config), std::move(compiled), text};
  } catch (const policy::CapacityError& e) {
    // The config is valid TOML and valid policy, but too big for the maps.
    out.diagnostics.push_back({{path, 1, 1}, "", e.what()});
  }
  return out;
}

LoadResult load_ruleset(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.diagnostics.push_back({{path, 0, 0}, "", "cannot read config file: " + std::string(std::strerror(errno))});
    return r;
  }
  std::stringstream text;
  text << in.rdbuf();
  return load_ruleset_text(text.str(), path);
}

}  // namespace sluice::service
