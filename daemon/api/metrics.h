// /metrics: Prometheus text exposition (format 0.0.4) of rule hit
// counters, drops by reason, conntrack fill, map memory, lost events and
// applies. Read under the service lock.
#pragma once

#include <string>

namespace sluice::service {
class Service;
}

namespace sluice::api {

std::string metrics_text(const service::Service& service);

}  // namespace sluice::api
