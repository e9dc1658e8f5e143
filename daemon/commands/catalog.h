// The commands sluiced offers, described once: name, who may run them,
// their HTTP route (or why they have none) and their sluicectl synopsis.
// The control socket and the API dispatch by this table
// (service/command_handlers.cpp holds the handlers), the API's routes are
// made from it (api/server.cpp), and sluicectl's help and parsing follow
// it (cli/). tests/unit/commands_test.cpp checks that every row has a
// handler, a route or a reason, help, and an entry in docs/openapi.json.
//
// Adding a command: a row here, its handler in command_handlers.cpp, its
// operation in docs/openapi.json; a sluicectl renderer in cli/render.cpp
// when the generic output will not do.
#pragma once

#include <span>
#include <string_view>

namespace sluice::commands {

enum class Access {
  Read,    // anyone authenticated: API tokens, --socket-group members
  Change,  // changes state: signed-in users (with their CSRF token) and root
  Root,    // root on the control socket only (never over HTTP)
};

// A query parameter of a GET route and the request field it fills.
struct QueryParam {
  enum class Kind { Number, String, Boolean };
  std::string_view name;
  Kind kind;
  bool in_filter = false;  // goes into the request's "filter" object
};

struct Command {
  std::string_view name;  // the "command" of a request
  Access access;
  std::string_view summary;  // one line, for help
  // HTTP: "GET" (fields from the query string; a path ending in
  // "[/{id}]" is served with and without a last segment, the number
  // "id") or "POST" (fields from the JSON body). Empty method: not served
  // over HTTP, and no_http says why.
  std::string_view http_method;
  std::string_view http_path;
  std::span<const QueryParam> query;
  std::string_view no_http;
  // sluicectl: the words that select it ("user add"), what follows them,
  // and (empty cli_words) why it has no sluicectl command.
  std::string_view cli_words;
  std::string_view cli_args;
  std::string_view no_cli;
};

std::span<const Command> catalog();

// The row of a command, or nullptr.
const Command* find(std::string_view name);

}  // namespace sluice::commands
