// What an API or control-socket request brings, decoded as sluiced does:
// the JSON body (nesting bound, object check), flow filters (from the
// body's "filter" object, as the control socket and the API's query
// string both end up), the Cookie header and the client address group.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "api/admission.h"
#include "api/http_input.h"
#include "flows/flow_filter.h"
#include "flows/flow_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto body = sluice::api::body_object(text, error);
  if (!body && error.empty()) __builtin_trap();
  if (body) {
    sluice::flows::FlowFilter filter;
    auto terms = body->contains("filter") ? (*body)["filter"] : *body;
    (void)sluice::flows::filter_from_json(terms, filter, 1'700'000'000'000);
  }
  (void)sluice::api::cookie_value(text, "sluice_session");
  (void)sluice::api::address_group(text);
  return 0;
}
