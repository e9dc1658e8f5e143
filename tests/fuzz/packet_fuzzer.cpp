// The datapath's packet parser and everything after it, on arbitrary
// frames, in the kernel (BPF_PROG_TEST_RUN; needs root): XDP ingress, tc
// ingress and tc egress each give a defined verdict for every frame (never
// XDP_ABORTED or an unknown tc action), and every frame tc ingress judges
// is counted, as passed or under a drop reason. The programs' own coverage
// is invisible to libFuzzer: this is mutation of the seed frames, checked
// by verdict and counter, not coverage-guided exploration of the BPF code.
// The kernel's verifier already proved every read bounded; what a frame
// can still break is a verdict or the accounting.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "config/parser.h"
#include "datapath/bpf_error.h"
#include "datapath/datapath.h"
#include "datapath/test_run.h"
#include "policy/compiler.h"

namespace {

sluice::datapath::Datapath& datapath() {
  static sluice::datapath::Datapath dp;
  static bool applied = [] {
    // A ruleset with a bit of everything: allow, reject, drop, audit.
    auto r = sluice::config::parse_string(R"(
[chains]
input = "drop"
forward = "drop"
[[rule]]
name = "web"
chain = "forward"
proto = "tcp"
port = [80, 443]
action = "accept"
[[rule]]
name = "telnet"
chain = "forward"
proto = "tcp"
port = 23
action = "reject"
[[rule]]
name = "dns"
chain = "input"
from = ["10.0.0.0/8", "fd00::/8"]
proto = "udp"
port = 53
action = "accept"
[[rule]]
name = "ping"
chain = "input"
proto = "icmp"
action = "accept"
mode = "audit"
)",
                                          "fuzz.toml");
    dp.apply(sluice::policy::compile(*r.config));
    return true;
  }();
  (void)applied;
  return dp;
}

std::uint64_t drops(const sluice::datapath::Datapath& dp) {
  std::uint64_t n = 0;
  for (int r = 1; r < SLUICE_DROP_REASON_COUNT; ++r)
    n += dp.drop_counter(static_cast<sluice_drop_reason>(r)).packets;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The kernel's test runner wants at least an Ethernet header.
  if (size < 14 || size > 4096) return -1;
  auto& dp = datapath();
  std::span<const std::uint8_t> frame(data, size);
  auto run = [&](int fd) -> std::optional<std::uint32_t> {
    try {
      return sluice::datapath::test_run(fd, frame).retval;
    } catch (const sluice::datapath::BpfError&) {
      return std::nullopt;  // the kernel's runner refused the frame (shorter than its headers)
    }
  };
  auto xdp_run = run(dp.xdp_ingress_fd());
  if (!xdp_run) return 0;
  auto xdp = *xdp_run;
  if (xdp != XDP_PASS && xdp != XDP_DROP && xdp != XDP_TX && xdp != XDP_REDIRECT) __builtin_trap();
  auto dropped = drops(dp);
  auto passed = dp.passed_counter().packets;
  auto tc_run = run(dp.tc_ingress_fd());
  if (!tc_run) return 0;
  auto tc = *tc_run;
  if (tc != TC_ACT_OK && tc != TC_ACT_SHOT && tc != TC_ACT_REDIRECT) __builtin_trap();
  // A frame stopped (dropped, or answered by a reject) is counted under
  // exactly one drop reason; one let through is counted once, or not at
  // all when it is not tc's to judge (ARP and other non-IP, neighbour
  // discovery).
  if (tc == TC_ACT_OK ? drops(dp) != dropped : drops(dp) != dropped + 1) __builtin_trap();
  if (dp.passed_counter().packets > passed + (tc == TC_ACT_OK ? 1 : 0)) __builtin_trap();
  auto out_run = run(dp.tc_egress_fd());
  if (!out_run) return 0;
  auto out = *out_run;
  if (out != TC_ACT_OK && out != TC_ACT_SHOT && out != TC_ACT_REDIRECT) __builtin_trap();
  return 0;
}
