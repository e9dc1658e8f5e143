#include "flows/flow_record.h"

namespace sluice::flows {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::Allowed:
      return "allowed";
    case Verdict::Dropped:
      return "dropped";
    case Verdict::Rejected:
      return "rejected";
    case Verdict::Audit:
      return "audit";
    case Verdict::Translated:
      return "translated";
    case Verdict::Closed:
      return "closed";
  }
  return "?";
}

std::optional<Verdict> parse_verdict(const std::string& text) {
  for (auto v : {Verdict::Allowed, Verdict::Dropped, Verdict::Rejected, Verdict::Audit,
                 Verdict::Translated, Verdict::Closed})
    if (text == to_string(v)) return v;
  return std::nullopt;
}

}  // namespace sluice::flows
