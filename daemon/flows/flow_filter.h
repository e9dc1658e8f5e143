// Which flow records a query or a stream wants: the filters of
// `sluicectl flows` and of /api/v1/flows, all optional, all must match.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "flows/flow_record.h"

namespace sluice::flows {

struct FlowFilter {
  std::optional<std::string> from;     // source address (either view of a translated flow)
  std::optional<std::string> to;       // destination address
  std::optional<std::string> address;  // either end
  std::optional<std::uint16_t> port;   // either port
  std::optional<Verdict> verdict;
  std::optional<std::string> rule;       // rule name ("default" for chain defaults)
  std::optional<std::int64_t> since_ms;  // records at or after this wall-clock time
  std::optional<std::int64_t> until_ms;  // records before this wall-clock time
  // The L7 proxy's records: "yes" all of them, "no" none of them, or a
  // kind ("http", "websocket", "tls", "http2", "tcp").
  std::optional<std::string> l7;

  bool matches(const FlowRecord& r) const;
};

// Reads "key=value" filter terms as the CLI and the API take them:
// from, to, address, port, verdict, rule, since, until, l7 (since/until:
// seconds since the epoch, or a duration back from now like "90s", "15m",
// "2h", "7d"). Returns an error message naming the term, or empty.
std::string set_filter_term(FlowFilter& filter, const std::string& key, const std::string& value,
                            std::int64_t now_ms);

}  // namespace sluice::flows
