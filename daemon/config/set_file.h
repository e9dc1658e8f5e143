// Address lists kept in their own file (sets with `file = "..."`): one
// address or CIDR a line, '#' starts a comment, blank lines are ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.h"

namespace sluice::config {

// Appends the file's prefixes to out and problems with its lines (at the
// list file's own line:col) to diags; key names the set. Returns why the
// file could not be read at all, if it could not.
std::optional<std::string> read_set_file(const std::string& path, const std::string& key, std::vector<Prefix>& out,
                   Diagnostics& diags);

}  // namespace sluice::config
