/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The interface a forwarded packet will leave by, for rules naming one
 * (kernel side only). tc ingress judges a flow before the kernel routes
 * it, so it asks the routing table itself. */
#ifndef SLUICE_LIB_ROUTE_H
#define SLUICE_LIB_ROUTE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"

#define ROUTE_AF_INET 2
#define ROUTE_AF_INET6 10

/* The egress ifindex the kernel's routing gives the packet, 0 when it has
 * no route (a rule naming an out_interface then does not match). A
 * neighbour not yet resolved still names the interface. A global
 * function: its 64-byte lookup is not on its caller's stack. */
__noinline __u32 route_out_ifindex(struct __sk_buff *skb, const struct packet *pkt)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	if (!skb || !pkt)
		return 0;
	fib.l4_protocol = pkt->proto;
	fib.sport = pkt->sport;
	fib.dport = pkt->dport;
	fib.ifindex = skb->ifindex;
	if (pkt->family == SLUICE_FAMILY_IPV4) {
		fib.family = ROUTE_AF_INET;
		__builtin_memcpy(&fib.ipv4_src, pkt->src, 4);
		__builtin_memcpy(&fib.ipv4_dst, pkt->dst, 4);
	} else {
		fib.family = ROUTE_AF_INET6;
		__builtin_memcpy(fib.ipv6_src, pkt->src, 16);
		__builtin_memcpy(fib.ipv6_dst, pkt->dst, 16);
	}
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return fib.ifindex;
	return 0;
}

#endif
