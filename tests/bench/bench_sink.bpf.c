// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The forwarding benchmark's sink: drops every frame as soon as its veth
 * receives it. The interface's rx counter has counted it by then, and no
 * stack work is spent on it, so the sink costs every variant as little,
 * and alike. An XDP program also gives the veth the NAPI context that
 * XDP-redirected frames need to arrive.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
