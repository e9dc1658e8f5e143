// A private network namespace for the datapath tests that need real
// interfaces: BPF_PROG_TEST_RUN names a device for the packet, and the XDP
// fast path's bpf_fib_lookup needs routes and neighbours.
//
//   lan0 10.10.1.1/24 fd00:10:1::1/64   hosts .10 and .11 (::10) as neighbours
//   wan0 192.0.2.1/24 2001:db8:2::1/64  host .2 (::2) as neighbour, .3 without one,
//                                       203.0.113.0/24 via .2 with a 1280-byte MTU
//
// Each is one end of a veth pair whose other end stays unaddressed. The
// calling thread enters the namespace while the fixture lives; the
// namespace is anonymous, so it goes with the process even when a test
// crashes: nothing to clean up on the host.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace sluice::testkit {

using Mac = std::array<std::uint8_t, 6>;

class LabNetns {
 public:
  LabNetns();  // throws std::runtime_error
  ~LabNetns();
  LabNetns(const LabNetns&) = delete;
  LabNetns& operator=(const LabNetns&) = delete;

  std::uint32_t ifindex(const std::string& name) const;

  // The interfaces' own and their neighbours' MAC addresses.
  static constexpr Mac kLanMac{0x02, 0, 0, 0, 0x01, 0x01};
  static constexpr Mac kWanMac{0x02, 0, 0, 0, 0x02, 0x01};
  static constexpr Mac kHost10Mac{0x02, 0, 0, 0, 0x01, 0x10};
  static constexpr Mac kHost11Mac{0x02, 0, 0, 0, 0x01, 0x11};
  static constexpr Mac kServerMac{0x02, 0, 0, 0, 0x02, 0x02};

 private:
  int original_ = -1;  // the thread's namespace before, to go back to
};

}  // namespace sluice::testkit
