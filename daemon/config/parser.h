// sluice.toml -> Config. Never throws for bad input: every problem becomes
// a Diagnostic, and a Config is returned only when there are none.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostics.h"
#include "config/model.h"

namespace sluice::config {

struct ParseResult {
  std::optional<Config> config;  // set only when diagnostics is empty
  Diagnostics diagnostics;
};

ParseResult parse_file(const std::string& path);

// source_name is what locations report as the file. Relative `file =`
// paths of sets resolve against base_dir.
ParseResult parse_string(std::string_view text, const std::string& source_name,
                         const std::string& base_dir = ".");

}  // namespace sluice::config
