// The client side of sluiced's control socket: one JSON request, one JSON
// answer per connection (sluicectl, and the CNI plugin after it).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace sluice::cli {

// The answer, or nullopt with why in error (sluiced not running, not
// allowed to connect, an answer that is not JSON).
std::optional<nlohmann::json> ask_sluiced(const std::string& socket, const nlohmann::json& request,
                                          std::string& error);

}  // namespace sluice::cli
