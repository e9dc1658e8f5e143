// Label and name syntax of container selectors, and what a selector
// selects: shared by the config parser, the policy (rules' selectors,
// [[endpoint]] labels) and the service (labels a runtime passes).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "config/model.h"

namespace sluice::config {

using Labels = std::map<std::string, std::string>;

// The syntax Kubernetes gives labels, so that pods' labels fit as they
// are: a key is an optional DNS-like prefix and "/" and a name of 1-63
// characters (letters, digits, "-", "_", "." inside); a value is empty or
// such a name. Returns "" when fine, else what is wrong.
std::string label_key_error(std::string_view key);
std::string label_value_error(std::string_view value);

// A container name glob: 1-253 characters of letters, digits and
// "-_.:*?". Returns "" when fine.
std::string name_glob_error(std::string_view glob);

// Whether the glob ("*" any run, "?" one character) matches name.
bool glob_matches(std::string_view glob, std::string_view name);

// Whether s selects a container with this name and these labels.
bool selects(const Selector& s, const std::string& name, const Labels& labels);

// "app=web, tier=front": for messages and listings.
std::string to_string(const Labels& labels);

}  // namespace sluice::config
