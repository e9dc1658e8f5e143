// A config file read, validated and compiled: what --check, validate and
// every apply share. Never throws for a bad file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "config/model.h"
#include "policy/compiled_policy.h"
#include "policy/compiler.h"

namespace sluice::policy {

struct Ruleset {
  config::Config config;
  policy::CompiledPolicy compiled;
  std::string text;  // the TOML it was read from
};

struct LoadResult {
  std::optional<Ruleset> ruleset;  // set when diagnostics is empty
  config::Diagnostics diagnostics;
};

// list_dirs: where address lists may be read besides the config file's
// own directory (config::parse_file).
LoadResult load_ruleset(const std::string& path, const std::vector<std::string>& list_dirs = {});
// The same for TOML text that is (or is about to be) the file at path:
// diagnostics name path, relative set files resolve next to it.
// A ruleset too big for the datapath's maps gets a diagnostic at the rule
// that needs the most room (limits: the maps', or smaller in tests).
LoadResult load_ruleset_text(const std::string& text, const std::string& path,
                             const std::vector<std::string>& list_dirs = {},
                             const Limits& limits = {});

}  // namespace sluice::policy
