// Address lists kept in their own file (sets with `file = "..."`): one
// address or CIDR a line, '#' starts a comment, blank lines are ignored.
//
// Config text may come from a remote API caller, so a list file is only
// read from the directories the operator allows (the config file's own,
// and sluiced's --list-dir ones), only when it is a regular file of at
// most kMaxSetFileBytes, and problems with its lines are reported by
// place and kind without quoting the line: the caller did not send it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"

namespace sluice::config {

// A million prefixes (the prefilter's size) fit with room to spare.
constexpr std::size_t kMaxSetFileBytes = 64u << 20;

// Appends the prefixes of a list's text to out and problems with its
// lines (at path:line:col, never quoting the line) to diags; key names the
// set.
void parse_set_list(std::string_view text, const std::string& path, const std::string& key,
                    std::vector<Prefix>& out, Diagnostics& diags);

// Appends the file's prefixes to out and problems with its lines (at the
// list file's own line:col) to diags; key names the set. Returns why the
// file could not be read at all, if it could not.
std::optional<std::string> read_set_file(const std::string& path,
                                         const std::vector<std::string>& allowed_dirs,
                                         const std::string& key, std::vector<Prefix>& out,
                                         Diagnostics& diags);

}  // namespace sluice::config
