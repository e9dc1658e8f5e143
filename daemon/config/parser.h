// sluice.toml -> Config. Never throws for bad input: every problem becomes
// a Diagnostic, and a Config is returned only when there are none.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/model.h"

namespace sluice::config {

struct ParseResult {
  std::optional<Config> config;  // set only when diagnostics is empty
  Diagnostics diagnostics;
};

// The largest config file read (a 100,000-rule file is about 10 MB).
constexpr std::size_t kMaxConfigBytes = 16u << 20;

// list_dirs: where address lists may be read besides the config file's
// own directory (sluiced --list-dir).
ParseResult parse_file(const std::string& path, const std::vector<std::string>& list_dirs = {});

// source_name is what locations report as the file. Relative `file =`
// paths of sets resolve against base_dir, and address lists are read only
// inside base_dir and list_dirs.
ParseResult parse_string(std::string_view text, const std::string& source_name,
                         const std::string& base_dir = ".",
                         const std::vector<std::string>& list_dirs = {});

}  // namespace sluice::config
