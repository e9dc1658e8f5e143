// BPF_PROG_TEST_RUN: runs a loaded program on a packet in the kernel
// without any interface. Used by the datapath tests and the benchmarks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sluice::datapath {

struct TestRunResult {
  std::uint32_t retval = 0;          // TC_ACT_* / XDP_*
  std::vector<std::uint8_t> packet;  // the packet as the program left it
  std::uint32_t duration_ns = 0;     // mean per repetition, as the kernel measured
};

// Throws BpfError.
TestRunResult test_run(int prog_fd, std::span<const std::uint8_t> packet, std::uint32_t repeat = 1);

// The program's kind decides the context the kernel builds for it.
enum class TestHook { Tc, Xdp };

// As test_run, with the packet on the interface ifindex of the calling
// thread's network namespace: XDP sees it arrive there (ingress_ifindex,
// and the routes of that namespace for bpf_fib_lookup), tc sees it on
// that device (skb->ifindex). Throws BpfError.
TestRunResult test_run_on(int prog_fd, TestHook hook, std::uint32_t ifindex,
                          std::span<const std::uint8_t> packet);

}  // namespace sluice::datapath
