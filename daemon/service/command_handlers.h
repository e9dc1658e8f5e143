// What serves each command of commands::catalog(): one function per
// command, taking the request (its fields already known to be an object)
// and the caller, answering JSON. requests.cpp looks them up by name after
// checking the caller may run the command.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::service {

class Service;
struct Caller;

using CommandHandler = nlohmann::json (*)(Service&, const nlohmann::json& request, const Caller&);

// nullptr for a name with no handler.
CommandHandler handler_for(std::string_view command);

// The names with a handler (for the test that holds them to the catalog).
std::vector<std::string_view> handled_commands();

// {"ok": false, "error": message, "code": code}: a refusal, code the HTTP
// status it maps to.
nlohmann::json refusal(const std::string& message, int code = 400);

}  // namespace sluice::service
