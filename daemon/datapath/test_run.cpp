#include "datapath/test_run.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "datapath/bpf_error.h"

namespace sluice::datapath {

TestRunResult test_run(int prog_fd, std::span<const std::uint8_t> packet, std::uint32_t repeat) {
  TestRunResult result;
  // Room for a packet that a program grew (reject answers quote it).
  result.packet.resize(packet.size() + 512);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = result.packet.data(),
              .data_size_in = static_cast<__u32>(packet.size()),
              .data_size_out = static_cast<__u32>(result.packet.size()),
              .repeat = static_cast<int>(repeat));
  check(bpf_prog_test_run_opts(prog_fd, &opts), "BPF_PROG_TEST_RUN");
  result.retval = opts.retval;
  result.duration_ns = opts.duration;
  result.packet.resize(opts.data_size_out);
  return result;
}

TestRunResult test_run_on(int prog_fd, TestHook hook, std::uint32_t ifindex,
                          std::span<const std::uint8_t> packet) {
  TestRunResult result;
  result.packet.resize(packet.size() + 512);
  __sk_buff skb{};
  xdp_md xdp{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = result.packet.data(),
              .data_size_in = static_cast<__u32>(packet.size()),
              .data_size_out = static_cast<__u32>(result.packet.size()));
  if (hook == TestHook::Tc) {
    skb.ifindex = ifindex;
    opts.ctx_in = &skb;
    opts.ctx_size_in = sizeof(skb);
  } else {
    xdp.data_end = static_cast<__u32>(packet.size());
    xdp.ingress_ifindex = ifindex;
    opts.ctx_in = &xdp;
    opts.ctx_size_in = sizeof(xdp);
  }
  check(bpf_prog_test_run_opts(prog_fd, &opts), "BPF_PROG_TEST_RUN");
  result.retval = opts.retval;
  result.packet.resize(opts.data_size_out);
  return result;
}

}  // namespace sluice::datapath
