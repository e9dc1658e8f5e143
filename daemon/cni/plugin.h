// What sluice-cni does with an invocation: VERSION by itself, everything
// else by asking sluiced over its control socket, which wires containers
// and holds their addresses. The plugin holds no state of its own.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "cni/invocation.h"

namespace sluice::cni {

// Sends one request to sluiced: its answer, or nullopt with why in error.
using AskSluiced =
    std::function<std::optional<nlohmann::json>(const nlohmann::json& request, std::string& error)>;

inline constexpr const char* kDefaultSocket = "/run/sluice/sluice.sock";

// The control socket the configuration names in "socket", or the default.
std::string sluiced_socket(const nlohmann::json& config);

// Runs an invocation: writes its result (or its error) to out and returns
// the exit status.
int run(const Invocation& inv, std::ostream& out, const AskSluiced& ask);

// A result (in the newest version's shape) as the version asked for.
nlohmann::json result_for_version(nlohmann::json result, const std::string& cni_version);

}  // namespace sluice::cni
