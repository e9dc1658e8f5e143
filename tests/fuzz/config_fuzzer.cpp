// The TOML config parser and the policy compiler on arbitrary text: never
// a crash, a hang or undefined behaviour; an answer (a config or
// diagnostics) every time. Address lists are read from an empty directory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/describe.h"
#include "config/diff.h"
#include "config/parser.h"
#include "policy/compiler.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = sluice::config::parse_string(text, "fuzz.toml", "/nonexistent-sluice-fuzz");
  if (r.config.has_value() == !r.diagnostics.empty()) __builtin_trap();  // exactly one of the two
  if (!r.config) {
    (void)sluice::config::format(r.diagnostics);
    return 0;
  }
  for (const auto& rule : r.config->rules) {
    (void)sluice::config::describe_endpoint(rule.from);
    (void)sluice::config::describe_match(rule);
  }
  (void)sluice::config::diff(*r.config, *r.config);
  try {
    (void)sluice::policy::compile(*r.config);
  } catch (const sluice::policy::CapacityError&) {
    // Too big for the maps: a refusal, not a failure.
  }
  return 0;
}
