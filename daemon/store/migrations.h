// The database schema as numbered steps: step N takes a file from
// user_version N-1 to N. Steps are never edited once released; a change
// is a new step.
#pragma once

#include <string_view>
#include <vector>

namespace sluice::store {

const std::vector<std::string_view>& migrations();

}  // namespace sluice::store
