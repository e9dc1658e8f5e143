/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The forwarding the benchmark's XDP variants share: the route and next
 * hop from bpf_fib_lookup, the TTL decremented, the frame redirected to
 * the egress interface. Anything it cannot handle goes to the kernel.
 */
#ifndef SLUICE_BENCH_FORWARD_BPF_H
#define SLUICE_BENCH_FORWARD_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2

/* Forwards the IPv4 packet ip (after eth) of ctx; the caller checked that
 * the IP header lies inside the frame. */
static __always_inline int forward_ipv4(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip)
{
	struct bpf_fib_lookup fib = {};
	__u32 check;

	if (ip->ttl <= 1)
		return XDP_PASS;
	fib.family = AF_INET;
	fib.tos = ip->tos;
	fib.l4_protocol = ip->protocol;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ipv4_src = ip->saddr;
	fib.ipv4_dst = ip->daddr;
	fib.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	/* TTL is the high byte of a checksummed 16-bit word. */
	check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xffff));
	ip->ttl--;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect(fib.ifindex, 0);
}

#endif
