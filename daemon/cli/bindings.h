// How sluicectl runs a command of the catalog: its arguments become the
// request, the answer becomes text for people. A command without a
// binding takes no arguments and gets the generic rendering.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::cli {

// Exit codes.
constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

struct Invocation {
  bool json = false;              // print the daemon's answer as is
  std::string socket;             // the control socket
  std::vector<std::string> args;  // what follows the command's words
};

// "" when the arguments fit (request filled in), else what is wrong.
using Parse = std::string (*)(const std::vector<std::string>& args, nlohmann::json& request);
// Prints a successful answer for people.
using Render = void (*)(const nlohmann::json& answer, const nlohmann::json& request);
// Runs the whole command (offline, or more than one request).
using Run = int (*)(const Invocation&);

struct Binding {
  std::string_view command;
  Parse parse = nullptr;    // nullptr: no arguments
  Render render = nullptr;  // nullptr: render_generic
  Run run = nullptr;        // set: parse and render are not used
};

// nullptr when the command has no binding of its own.
const Binding* binding_for(std::string_view command);

// The arguments NAME (users and tokens).
std::string parse_name(const std::vector<std::string>& args, nlohmann::json& request);

// Sends the request and prints the answer (as is with --json, else by
// render or render_generic); the exit code.
int request_and_render(const Invocation& inv, const nlohmann::json& request, Render render);

// Every key of the answer but "ok", nested objects as a.b: value.
void render_generic(const nlohmann::json& answer);

// Prints a refusal: the error, and diagnostics when there are any.
void print_refusal(const std::string& command, const nlohmann::json& answer);

}  // namespace sluice::cli
