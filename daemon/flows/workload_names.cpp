#include "flows/workload_names.h"

namespace sluice::flows {

std::string WorkloadNames::describe(const std::string& address, std::uint32_t identity) const {
  auto at = by_address.find(address);
  if (at != by_address.end() && identity == 0) identity = at->second.identity;
  auto l = labels.find(identity);
  std::string text = at != by_address.end() ? at->second.name : "";
  if (l != labels.end() && !l->second.empty())
    text += (text.empty() ? "(" : " (") + l->second + ")";
  return text;
}

}  // namespace sluice::flows
