// The config model's enums as the datapath spells them (sluice/abi.h).
// The values agree by construction; the asserts make a change on either
// side a compile error instead of a silently wrong map entry, and the
// functions are the one place the conversion is written.
#pragma once

#include <netinet/in.h>

#include <cstdint>

#include "config/model.h"
#include "sluice/abi.h"

namespace sluice::policy {

static_assert(config::kChainCount == SLUICE_CHAIN_COUNT);
static_assert(static_cast<int>(config::Chain::Input) == SLUICE_CHAIN_INPUT);
static_assert(static_cast<int>(config::Chain::Forward) == SLUICE_CHAIN_FORWARD);
static_assert(static_cast<int>(config::Chain::Output) == SLUICE_CHAIN_OUTPUT);
static_assert(static_cast<int>(config::Action::Accept) == SLUICE_ACTION_ACCEPT);
static_assert(static_cast<int>(config::Action::Drop) == SLUICE_ACTION_DROP);
static_assert(static_cast<int>(config::Action::Reject) == SLUICE_ACTION_REJECT);
static_assert(static_cast<int>(config::Family::V4) == SLUICE_FAMILY_IPV4);
static_assert(static_cast<int>(config::Family::V6) == SLUICE_FAMILY_IPV6);
// Protocols are IP protocol numbers on both sides; 0 is "any" in the
// config and never a packet's.
static_assert(static_cast<int>(config::Protocol::Tcp) == IPPROTO_TCP);
static_assert(static_cast<int>(config::Protocol::Udp) == IPPROTO_UDP);
static_assert(static_cast<int>(config::Protocol::Icmp) == IPPROTO_ICMP);
static_assert(static_cast<int>(config::Protocol::Icmpv6) == IPPROTO_ICMPV6);

constexpr std::uint8_t abi_chain(config::Chain c) { return static_cast<std::uint8_t>(c); }
constexpr std::uint8_t abi_action(config::Action a) { return static_cast<std::uint8_t>(a); }
constexpr std::uint8_t abi_family(config::Family f) { return static_cast<std::uint8_t>(f); }
constexpr std::uint8_t abi_proto(config::Protocol p) { return static_cast<std::uint8_t>(p); }
constexpr config::Chain config_chain(std::uint8_t chain) {
  return static_cast<config::Chain>(chain);
}

}  // namespace sluice::policy
