#include "service/requests.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "commands/catalog.h"
#include "common/log.h"
#include "service/command_handlers.h"
#include "store/database.h"

namespace sluice::service {

namespace {

using nlohmann::json;

// Whether the caller may run c, or the refusal.
std::optional<json> refused(const commands::Command& c, const Caller& caller) {
  if (c.access == commands::Access::Root && !caller.root)
    return refusal(std::string(c.no_http), 403);
  if (c.access == commands::Access::Change && !caller.may_change)
    return refusal("this caller may only read (" + caller.who + ")", 403);
  return std::nullopt;
}

json dispatch(Service& s, const json& req, const Caller& caller) {
  if (!req.is_object() || !req.contains("command") || !req["command"].is_string())
    return refusal("a request is a JSON object with a \"command\" string");
  const std::string name = req["command"];
  const auto* command = commands::find(name);
  auto handler = handler_for(name);
  if (!command || !handler) return refusal("unknown command '" + name + "'", 404);
  if (auto no = refused(*command, caller)) return *no;
  return handler(s, req, caller);
}

}  // namespace

json handle(Service& service, const json& request, const Caller& caller) {
  try {
    return dispatch(service, request, caller);
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("state database: ") + e.what());
    return refusal(std::string("the state database failed: ") + e.what(), 503);
  } catch (const json::exception& e) {
    return refusal(std::string("malformed request: ") + e.what());
  }
}

std::string handle_request(Service& service, const std::string& request, const Caller& caller) {
  json req = json::parse(request, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return refusal("the request is not valid JSON").dump();
  return handle(service, req, caller).dump();
}

}  // namespace sluice::service
