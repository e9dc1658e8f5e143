// How the flow history finds records by address, verdict or rule without
// an index entry per record: runs of records that share a key ("spans",
// the flow_spans table), written with each batch; a search reads its key's
// spans, then the records inside them by id (FlowHistory::query).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flows/flow_filter.h"
#include "flows/flow_record.h"

namespace sluice::store {

// A key's span closes when its next record is more than this many ids on,
// so a search reads at most this many records per record it finds (and a
// key as common as the one server of a benchmark gets one span a batch).
constexpr std::uint64_t kSpanGap = 1024;

struct Span {
  std::string key;
  std::uint64_t first_id = 0;
  std::uint64_t last_id = 0;
};

// The key a search by filter reads the spans of (an address before the
// rule, the rule before the verdict: the likelier to be rare first);
// nullopt when it filters by none of them. Every record the filter matches
// carries this key (schema step 11 derives the same keys in SQL).
std::optional<std::string> span_key_of(const flows::FlowFilter& filter);

// The spans over batch, whose ids grow, as the writer stores them.
std::vector<Span> spans_of(std::span<const flows::FlowRecord> batch);

}  // namespace sluice::store
