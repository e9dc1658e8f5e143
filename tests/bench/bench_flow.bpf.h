/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the benchmark's stateful ceilings share (bench_tracked.bpf.c,
 * bench_set_table.bpf.c): the flow key, a compact IPv4 5-tuple, and the
 * program around their tables. A program that includes this defines
 * track(), which finds or makes the flow's entry and notes the time.
 */
#ifndef SLUICE_BENCH_FLOW_BPF_H
#define SLUICE_BENCH_FLOW_BPF_H

#include <linux/in.h>
#include <linux/udp.h>
#include "bench_forward.bpf.h"

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* 0 when the entry could not be found or made. */
static __always_inline int track(const struct flow_key *key, __u64 now);

/* TCP and UDP over IPv4 without options are tracked, then forwarded;
 * anything else goes to the kernel. */
static __always_inline int tracked_forward(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	/* TCP and UDP both start with the two ports. */
	struct udphdr *ports = (void *)(ip + 1);
	struct flow_key key = {};

	if ((void *)(ports + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) || ip->ttl <= 1)
		return XDP_PASS;
	key.saddr = ip->saddr;
	key.daddr = ip->daddr;
	key.sport = ports->source;
	key.dport = ports->dest;
	key.proto = ip->protocol;
	if (!track(&key, bpf_ktime_get_ns()))
		return XDP_PASS;
	return forward_ipv4(ctx, eth, ip);
}

#endif
