// sluicectl's output for people, one function per command (see bindings.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice::cli {

using nlohmann::json;

void render_status(const json& answer, const json& request);
void render_version(const json& answer, const json& request);
void render_apply(const json& answer, const json& request);
void render_confirm(const json& answer, const json& request);
void render_rollback(const json& answer, const json& request);
void render_diff(const json& answer, const json& request);
void render_rules(const json& answer, const json& request);
void render_conntrack(const json& answer, const json& request);
void render_counters(const json& answer, const json& request);
void render_interfaces(const json& answer, const json& request);
void render_cni_install(const json& r, const json& request);
void render_endpoints(const json& answer, const json& request);
void render_history(const json& answer, const json& request);
void render_audit(const json& answer, const json& request);
void render_account_list(const json& answer, const json& request);
void render_account_change(const json& answer, const json& request);

// Left-aligned columns, the first row a header.
void table(const std::vector<std::vector<std::string>>& rows);
// A JSON value as text: strings without quotes.
std::string str(const json& v);
// Epoch milliseconds as local "YYYY-MM-DD HH:MM:SS".
std::string local_time(const json& ms);

}  // namespace sluice::cli
