// What the API reads from a request before anything else looks at it:
// the JSON body (bounded nesting, an object), cookies. Pure functions,
// fuzzed on their own (tests/fuzz/request_fuzzer.cpp).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace sluice::api {

constexpr int kMaxJsonDepth = 32;

// Nesting depth of a JSON text within max (strings skipped; it stops
// counting past max, so a deep text costs no more than a shallow one).
bool json_depth_within(const std::string& text, int max);

// A request body as a JSON object ({} when empty), or nullopt with why in
// error.
std::optional<nlohmann::json> body_object(const std::string& body, std::string& error);

// The value of cookie name in a Cookie header, or "".
std::string cookie_value(const std::string& header, const std::string& name);

}  // namespace sluice::api
