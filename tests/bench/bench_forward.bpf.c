// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The forwarding benchmark's ceiling: IPv4 forwarding in XDP and nothing
 * else (no policy, no connection tracking, no translation). The route and
 * next hop come from bpf_fib_lookup, the TTL is decremented, the frame is
 * redirected to the egress interface. No firewall built on XDP can forward
 * faster than this on the same path, so its rate bounds what the sluice
 * variants can reach here. Anything it cannot handle goes to the kernel.
 */
#include "bench_forward.bpf.h"

SEC("xdp")
int bench_forward(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	return forward_ipv4(ctx, eth, ip);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
