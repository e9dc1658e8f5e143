/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Steering flows into the L7 proxy (kernel side only; docs/l7.md). tc
 * ingress hands every packet of the original direction of such a flow to
 * a socket: the proxy's own connection for it when there is one (also a
 * TIME_WAIT one: see sluice_proxy_lookup), else the rule's listener. The
 * mark makes routing deliver the packet here, also when its destination
 * is another host (an ip rule sends the mark to a table whose one route is
 * "local"). Nothing here forwards a steered packet: no socket, no packet.
 */
#ifndef SLUICE_LIB_PROXY_H
#define SLUICE_LIB_PROXY_H

#include <linux/pkt_cls.h>
#include "parse.h"
#include "proxy_maps.h"

/* Assigns the packet to the proxy. Returns 0 when assigned, -1 when there
 * is no socket to take it (the proxy is not running). */
static __always_inline int proxy_steer(struct __sk_buff *skb, const struct packet *pkt, __u16 slot)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	__u32 size, key = sluice_proxy_key(slot, pkt->family);
	long err;

	if (pkt->family == SLUICE_FAMILY_IPV4) {
		__builtin_memcpy(&tuple.ipv4.saddr, pkt->src, 4);
		__builtin_memcpy(&tuple.ipv4.daddr, pkt->dst, 4);
		tuple.ipv4.sport = pkt->sport;
		tuple.ipv4.dport = pkt->dport;
		size = sizeof(tuple.ipv4);
	} else {
		__builtin_memcpy(tuple.ipv6.saddr, pkt->src, 16);
		__builtin_memcpy(tuple.ipv6.daddr, pkt->dst, 16);
		tuple.ipv6.sport = pkt->sport;
		tuple.ipv6.dport = pkt->dport;
		size = sizeof(tuple.ipv6);
	}
	/* The proxy's connection for this flow (established, in its
	 * handshake or in TIME_WAIT), or a server's listener on this host,
	 * which must not get it. A connection of the proxy is not assigned:
	 * its four-tuple is exactly the packet's, so the stack's own lookup
	 * finds it, and for an established one early demux then takes the
	 * socket's cached input route instead of a routing lookup per packet
	 * (an assigned packet skips early demux). The mark alone makes the
	 * route local when there is no cached one. */
	sk = bpf_skc_lookup_tcp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		int listener = sk->state == BPF_TCP_LISTEN;

		bpf_sk_release(sk);
		if (!listener)
			goto steered;
	}
	sk = bpf_map_lookup_elem(&proxy_listeners, &key);
	if (!sk)
		return -1;
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return -1;
steered:
	skb->mark = SLUICE_PROXY_MARK;
	return 0;
}

#endif
