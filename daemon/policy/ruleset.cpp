#include "policy/ruleset.h"

#include <algorithm>
#include <filesystem>

#include "config/bounded_file.h"
#include "config/parser.h"
#include "policy/compiler.h"

namespace sluice::policy {

LoadResult load_ruleset_text(const std::string& text, const std::string& path,
                             const std::vector<std::string>& list_dirs, const Limits& limits) {
  LoadResult out;
  auto dir = std::filesystem::path(path).parent_path().string();
  auto parsed = config::parse_string(text, path, dir.empty() ? "." : dir, list_dirs);
  if (!parsed.config) {
    out.diagnostics = std::move(parsed.diagnostics);
    return out;
  }
  try {
    auto compiled = compile(*parsed.config, limits);
    out.ruleset = Ruleset{std::move(*parsed.config), std::move(compiled), text};
  } catch (const CapacityError& e) {
    // The config is valid TOML and valid policy, but too big for the maps.
    const auto& rules = parsed.config->rules;
    config::Location where{path, 1, 1};
    std::string key;
    if (e.rule && *e.rule < rules.size()) {
      const auto& rule = rules[*e.rule];
      if (!rule.where.file.empty()) where = rule.where;
      // Numbered as written: implicit rules (anti-lockout) are not [[rule]]s.
      auto written = std::count_if(rules.begin(), rules.begin() + static_cast<long>(*e.rule),
                                   [](const config::Rule& r) { return !r.implicit; });
      key = rule.implicit ? "api.management" : "rule[" + std::to_string(written) + "]";
    }
    out.diagnostics.push_back({where, key, e.what()});
  }
  return out;
}

LoadResult load_ruleset(const std::string& path, const std::vector<std::string>& list_dirs) {
  auto file = config::read_bounded_file(path, config::kMaxConfigBytes);
  if (!file.text) {
    LoadResult r;
    r.diagnostics.push_back({{path, 0, 0}, "", "cannot read config file: " + file.error});
    return r;
  }
  return load_ruleset_text(*file.text, path, list_dirs);
}

}  // namespace sluice::policy
