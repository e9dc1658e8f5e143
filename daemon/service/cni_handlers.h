// The commands sluice-cni sends over the control socket (cni_add, cni_del,
// cni_check, cni_gc, cni_status): the runtime's request as the plugin
// passes it on, the outcome as {"ok": true, "result": ...} or a refusal
// carrying the CNI error code ("cni_code") the plugin reports.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace sluice::service {

class Service;
struct Caller;

nlohmann::json cni_add(Service& s, const nlohmann::json& req, const Caller& caller);
nlohmann::json cni_del(Service& s, const nlohmann::json& req, const Caller& caller);
nlohmann::json cni_check(Service& s, const nlohmann::json& req, const Caller& caller);
nlohmann::json cni_gc(Service& s, const nlohmann::json& req, const Caller& caller);
nlohmann::json cni_status(Service& s, const nlohmann::json& req, const Caller& caller);
nlohmann::json cni_install(Service& s, const nlohmann::json& req, const Caller& caller);

// The wired containers (sluicectl endpoints, GET /api/v1/endpoints).
nlohmann::json endpoints(Service& s, const nlohmann::json& req, const Caller& caller);

}  // namespace sluice::service
