// The oracle: a deliberately naive, linear, first-match walk over the
// rules as written. The compiled datapath must agree with it on every
// packet; nothing on the packet path uses it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "config/model.h"

namespace sluice::policy {

struct PacketHeaders {
  config::Family family = config::Family::V4;
  std::array<std::uint8_t, 16> src{};
  std::array<std::uint8_t, 16> dst{};
  std::uint8_t proto = 0;
  std::uint16_t dport = 0;  // host order; TCP/UDP only
  std::uint8_t icmp_type = 0;
  std::uint8_t icmp_code = 0;
  std::string in_interface;   // arrived on; empty: none (output chain)
  std::string out_interface;  // leaves by; empty: none or not known
};

struct Verdict {
  std::optional<std::size_t> rule_index;         // empty: the chain default decided
  config::Action action = config::Action::Drop;  // what the rule or default says
  bool audit = false;                            // ...in audit mode: not enforced

  // What happens to the packet.
  config::Action effective() const { return audit ? config::Action::Accept : action; }
};

Verdict evaluate(const config::Config& cfg, config::Chain chain, const PacketHeaders& pkt);

}  // namespace sluice::policy
