#include "service/ruleset.h"

#include "config/parser.h"
#include "policy/compiler.h"

namespace sluice::service {

LoadResult load_ruleset(const std::string& path) {
  LoadResult out;
  auto parsed = config::parse_file(path);
  if (!parsed.config) {
    out.diagnostics = std::move(parsed.diagnostics);
    return out;
  }
  try {
    auto compiled = policy::compile(*parsed.config);
    out.ruleset = Ruleset{std::move(*parsed.config), std::move(compiled)};
  } catch (const policy::CapacityError& e) {
    // The config is valid TOML and valid policy, but too big for the maps.
    out.diagnostics.push_back({{path, 1, 1}, "", e.what()});
  }
  return out;
}

}  // namespace sluice::service
