// The status command (sluicectl status, GET /api/v1/status): the live
// ruleset, interfaces, conntrack, flows, packets, the L7 proxy and every
// map's fill, in one answer.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>

namespace sluice::service {

class Service;
struct Caller;

nlohmann::json status(Service& s, const nlohmann::json& req, const Caller& caller);

// CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns().
std::uint64_t monotonic_ns();

}  // namespace sluice::service
