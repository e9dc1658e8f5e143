// The operations sluiced offers, one JSON request in, one JSON answer out:
// what the control socket and the REST API both serve, so each exists
// once. The commands are those of commands/catalog.h, whose access level
// is checked here before command_handlers.cpp serves them; docs/daemon.md
// lists them. An answer has "ok"; a refusal also "error" (what is wrong)
// and "code" (the HTTP status it maps to).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace sluice::service {

class Service;

// Who asks: recorded in the audit log and config history, and what they
// may do.
struct Caller {
  std::string who;         // e.g. "root (control socket)", "user alice from 127.0.0.1"
  bool may_change = true;  // false: read-only (API tokens)
  bool root = false;       // the control socket: may manage users and tokens
};

// Not thread-safe: the caller holds the service lock.
nlohmann::json handle(Service& service, const nlohmann::json& request, const Caller& caller);

// handle() for request text (JSON), answering JSON text.
std::string handle_request(Service& service, const std::string& request, const Caller& caller);

}  // namespace sluice::service
