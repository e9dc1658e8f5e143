// The event decoder on arbitrary ring records (as the event reader hands
// them over: at least a sluice_event, a whole sluice_event_closed for
// closes): every field value, known or not, becomes a record, its JSON
// and its journal line without a crash or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "flows/event_decoder.h"
#include "flows/flow_json.h"
#include "sluice/abi.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sluice::flows::EventDecoder decoder = [] {
    sluice::flows::EventDecoder d;
    auto table = std::make_shared<sluice::flows::RuleTable>();
    table->config_file = "/etc/sluice/sluice.toml";
    table->rules = {{"web", 12, false}, {"ssh", 20, true}, {"", 0, false}};
    d.set_rules(0, table);
    d.set_rules(1, std::make_shared<sluice::flows::RuleTable>());
    return d;
  }();
  sluice_event_closed record{};
  std::memcpy(&record, data, std::min(size, sizeof record));
  std::vector<sluice::flows::FlowRecord> out;
  if (record.event.type == SLUICE_EVENT_CLOSED) {
    out.push_back(decoder.closed(record.key, record.entry,
                                 static_cast<int>(record.event.generation % 3) - 1));
  } else {
    decoder.decode(record.event, out);
    (void)decoder.logged(record.event);
  }
  for (const auto& r : out) (void)sluice::flows::to_json(r).dump();
  (void)sluice::flows::conntrack_expired(record.key, record.entry, record.event.ts_ns);
  return 0;
}
