// Flow records and filters as JSON: one shape for the control socket,
// the REST API and the history store.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "flows/flow_filter.h"
#include "flows/flow_record.h"

namespace sluice::flows {

nlohmann::json to_json(const FlowRecord& r);
// A record's L7 part ("l7" in the API, a column of the history).
nlohmann::json l7_to_json(const FlowRecord::L7& l7);
FlowRecord::L7 l7_from_json(const nlohmann::json& j);  // tolerant: what is there

// Reads {"from": "...", "port": 80, ...} (values as strings or numbers)
// into filter. Returns an error message, or empty.
std::string filter_from_json(const nlohmann::json& terms, FlowFilter& filter, std::int64_t now_ms);

}  // namespace sluice::flows
