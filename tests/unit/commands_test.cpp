// The command catalog against what serves it: every command has a handler
// in sluiced, a route or a reason not to, help and a way through
// sluicectl (or a reason not to), and each route is documented in
// docs/openapi.json, which documents nothing else.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli/bindings.h"
#include "commands/catalog.h"
#include "service/command_handlers.h"

namespace sluice {
namespace {

using commands::Access;

// The API's own endpoints: sign-in, the session, live streams, metrics.
const std::set<std::string> kApiOwnPaths = {"/api/v1/login", "/api/v1/logout", "/api/v1/session",
                                            "/api/v1/flows/stream", "/metrics"};

// Each documented (path, method) of a route: "[/{id}]" stands for both
// the path without and with the segment.
std::set<std::pair<std::string, std::string>> routes_of(const commands::Command& c) {
  std::string method(c.http_method);
  for (auto& ch : method) ch = static_cast<char>(std::tolower(ch));
  std::string path(c.http_path);
  const std::string optional_id = "[/{id}]";
  if (path.ends_with(optional_id)) {
    path.resize(path.size() - optional_id.size());
    return {{path, method}, {path + "/{id}", method}};
  }
  return {{path, method}};
}

nlohmann::json openapi() {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/docs/openapi.json");
  return nlohmann::json::parse(in);
}

TEST(Commands, EveryCommandHasAHandlerAndEveryHandlerACommand) {
  std::set<std::string> catalog, handled;
  for (const auto& c : commands::catalog()) {
    EXPECT_TRUE(catalog.insert(std::string(c.name)).second) << "twice in the catalog: " << c.name;
    EXPECT_NE(service::handler_for(c.name), nullptr)
        << c.name << " has no handler in command_handlers.cpp";
  }
  for (auto name : service::handled_commands()) handled.insert(std::string(name));
  EXPECT_EQ(catalog, handled);
}

TEST(Commands, EveryCommandHasHelpARouteOrAReasonAndACliWayOrAReason) {
  std::set<std::string> words;
  for (const auto& c : commands::catalog()) {
    SCOPED_TRACE(std::string(c.name));
    EXPECT_FALSE(c.summary.empty());
    EXPECT_NE(c.http_method.empty(), c.no_http.empty()) << "a route, or a reason for none";
    if (!c.http_method.empty()) {
      EXPECT_TRUE(c.http_method == "GET" || c.http_method == "POST");
      EXPECT_TRUE(c.http_path.starts_with("/api/v1/"));
      EXPECT_TRUE(c.query.empty() || c.http_method == "GET") << "query parameters are for GET";
    }
    EXPECT_FALSE(c.access == Access::Root && !c.http_method.empty())
        << "root's commands stay on the host";
    EXPECT_NE(c.cli_words.empty(), c.no_cli.empty()) << "a sluicectl command, or a reason for none";
    if (!c.cli_words.empty()) {
      EXPECT_TRUE(words.insert(std::string(c.cli_words)).second)
          << "two commands answer to " << c.cli_words;
      const auto* b = cli::binding_for(c.name);
      if (!c.cli_args.empty()) {
        EXPECT_TRUE(b && (b->parse || b->run))
            << "takes " << c.cli_args << " but sluicectl has no parser for it";
      }
    }
  }
}

TEST(Commands, OpenApiDocumentsEveryRouteAndNothingElse) {
  auto spec = openapi();
  std::set<std::pair<std::string, std::string>> documented, served;
  for (const auto& [path, ops] : spec["paths"].items())
    for (const auto& [method, op] : ops.items()) documented.insert({path, method});
  for (const auto& c : commands::catalog())
    if (!c.http_method.empty())
      for (const auto& r : routes_of(c)) served.insert(r);
  for (const auto& r : served)
    EXPECT_TRUE(documented.count(r)) << r.second << " " << r.first << " is not in openapi.json";
  for (const auto& r : documented)
    EXPECT_TRUE(served.count(r) || kApiOwnPaths.count(r.first))
        << r.second << " " << r.first << " is documented but not served";
}

}  // namespace
}  // namespace sluice
