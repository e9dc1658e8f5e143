/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The XDP forwarding fast path (kernel side only). A packet of a flow
 * conntrack already admitted to the forward chain is translated (the NAT
 * its conntrack entry holds), its TTL decremented, its MACs set from
 * bpf_fib_lookup, and it is sent straight to the egress interface through
 * a devmap: no skb, no tc, no netfilter.
 *
 * The first packet of a forwarded flow is decided here too when nothing
 * but forwarding awaits it in the kernel: policy accepts it (enforced, not
 * audited), it is addressed through this host (not to it, so no port
 * forward), the route and neighbour are known. It then gets its conntrack
 * entry and masquerade port here, exactly as tc would give them. Later
 * TCP packets move the flow's state here as tc would (fast_tcp_follows).
 *
 * Everything else goes to the kernel unchanged (XDP_PASS), where tc and
 * the stack handle it as before: first packets policy does not simply
 * accept (tc decides again and drops, rejects or audits), port forwards,
 * a SYN of a known TCP flow and packets after a RST, VLAN tags, IPv4
 * options and IPv6 extension headers, fragments, a TTL that expires here,
 * a packet too big for the way out, a next hop without a neighbour entry,
 * a route that changed, an egress interface not in the devmap. The kernel
 * then sends ICMP errors and resolves neighbours as usual; the next packet
 * takes the fast path.
 *
 * Contract: fastpath_forward() returns XDP_REDIRECT having rewritten the
 * frame, or XDP_PASS having left it untouched.
 */
#ifndef SLUICE_LIB_FASTPATH_H
#define SLUICE_LIB_FASTPATH_H

#include "checksum.h"
#include "conntrack.h"
#include "fastpath_maps.h"
#include "local.h"
#include "nat.h"
#include "parse.h"
#include "policy.h"
#include "stats_maps.h"

#define FAST_AF_INET 2
#define FAST_AF_INET6 10
#define FAST_IPV6_FLOWINFO_MASK bpf_htonl(0x0FFFFFFF)

/* A step's "not decided yet: go on" (any other value is the XDP verdict). */
#define FAST_CONTINUE -1

/* The transport header fields the fast path rewrites, in the frame. */
struct fast_frame {
	struct iphdr *ip4;
	struct ipv6hdr *ip6;
	__u16 *l4_csum; /* NULL: UDP over IPv4 without a checksum */
	__be32 *ports;	/* TCP/UDP: source and destination port; ICMP echo: id and sequence */
	__u8 pseudo;	/* the transport checksum covers the addresses */
	__u8 udp;
};

static __always_inline int fast_kernel(__u32 why, __u32 len)
{
	counter_add(&fastpath_counters, why, len);
	return XDP_PASS;
}

static __always_inline void fast_l4_csum_update(struct fast_frame *f, __be32 *from, __be32 *to,
						__u32 n)
{
	if (!f->l4_csum)
		return;
	csum_update(f->l4_csum, from, to, n);
	/* UDP sends 0 as "no checksum"; a computed 0 is written as 0xffff. */
	if (f->udp && *f->l4_csum == 0)
		*f->l4_csum = 0xffff;
}

/* Replaces the source (side 0) or destination (side 1) address. Which IP
 * header the frame has is read from the pointers themselves: the verifier
 * follows those, not a family byte read twice. */
static __always_inline void fast_set_addr(struct fast_frame *f, struct fast_scratch *sc, int side,
					  const __u8 *to)
{
	__be32 *old = sc->old, *new = sc->new;

	if (f->ip4) {
		__be32 *field = side ? &f->ip4->daddr : &f->ip4->saddr;

		old[0] = *field;
		__builtin_memcpy(new, to, 4);
		csum_update(&f->ip4->check, old, new, 4);
		if (f->pseudo)
			fast_l4_csum_update(f, old, new, 4);
		*field = new[0];
	} else if (f->ip6) {
		struct in6_addr *field = side ? &f->ip6->daddr : &f->ip6->saddr;

		__builtin_memcpy(old, field, 16);
		__builtin_memcpy(new, to, 16);
		if (f->pseudo)
			fast_l4_csum_update(f, old, new, 16);
		__builtin_memcpy(field, new, 16);
	}
}

/* Replaces the source (index 0) or destination (1) port; ICMP echo has one
 * identifier, in the first half of the word. */
static __always_inline void fast_set_port(struct fast_frame *f, __u8 proto, int index, __u16 to)
{
	union {
		__be32 word;
		__u16 port[2];
	} old, new;

	old.word = *f->ports;
	new.word = old.word;
	if (index == 0 || is_icmp(proto))
		new.port[0] = to;
	else
		new.port[1] = to;
	if (old.word == new.word)
		return;
	fast_l4_csum_update(f, &old.word, &new.word, 4);
	*f->ports = new.word;
}

/* Finds the headers the fast path rewrites; only plain frames qualify. */
static __always_inline int fast_frame_of(void *data, void *data_end, const struct packet *pkt,
					 struct fast_frame *f)
{
	void *l4;

	if (pkt->family == SLUICE_FAMILY_IPV4) {
		f->ip4 = data + sizeof(struct ethhdr);
		if ((void *)(f->ip4 + 1) > data_end || f->ip4->ihl != 5)
			return -1;
		l4 = (void *)(f->ip4 + 1);
	} else {
		f->ip6 = data + sizeof(struct ethhdr);
		if ((void *)(f->ip6 + 1) > data_end || f->ip6->nexthdr != pkt->proto)
			return -1;
		l4 = (void *)(f->ip6 + 1);
	}
	f->pseudo = pkt->proto != IPPROTO_ICMP;
	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		f->l4_csum = (__u16 *)&th->check;
		f->ports = l4;
	} else if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		f->l4_csum = (pkt->family == SLUICE_FAMILY_IPV4 && uh->check == 0)
				 ? NULL
				 : (__u16 *)&uh->check;
		f->ports = l4;
		f->udp = 1;
	} else {
		struct icmphdr *ih = l4;

		if ((void *)(ih + 1) > data_end)
			return -1;
		f->l4_csum = (__u16 *)&ih->checksum;
		f->ports = (__be32 *)&ih->un.echo.id;
	}
	return 0;
}

/* fast_new_flow()'s "accepted, but no masquerade port was free": drop. */
#define FAST_NAT_FAILED ((struct sluice_ct_entry *)1)

/*
 * Policy, conntrack entry and masquerade for the first packet of a flow
 * that leaves by out. Returns its new conntrack entry (as inserted); NULL
 * when the kernel (tc) should judge the packet instead, which it then does
 * from scratch. The entry is made complete, masquerade port and all,
 * before it goes into the table: one insert, no lookup after it. (Should
 * that insert fail, the port claimed stays behind without a flow, which
 * makes it free for the next one.)
 */
static __always_inline struct sluice_ct_entry *fast_new_flow(struct xdp_md *ctx,
							     const struct packet *pkt,
							     struct fast_scratch *sc, __u32 out,
							     __u64 now)
{
	struct sluice_settings *cfg;
	struct sluice_ct_entry *ct = &sc->ct;
	struct policy_verdict v;
	__u32 zero = 0, gen;

	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg)
		return NULL;
	gen = cfg->active_gen & 1;
	policy_verdict(pkt, SLUICE_CHAIN_FORWARD, gen, cfg, ctx->ingress_ifindex, out, &v);
	/* An audited accept is an accept; anything else is tc's to do, and
	 * to count. */
	if (v.action != SLUICE_ACTION_ACCEPT || v.proxy_slot)
		return NULL; /* and the L7 proxy's flows are tc's to steer */
	ct_init(ct, &sc->key, pkt, now, SLUICE_CHAIN_FORWARD, v.rule_index, ctx->ingress_ifindex);
	if (nat_decide_source(out, pkt, ct, 0)) {
		count_verdict(&v, SLUICE_CHAIN_FORWARD, gen, pkt->len);
		report_unjudged_drop(pkt, ctx->ingress_ifindex, pkt->len, SLUICE_DROP_NAT_FAILED);
		return FAST_NAT_FAILED;
	}
	if (ct_table_update(&sc->key, ct, BPF_ANY))
		return NULL;
	count_verdict(&v, SLUICE_CHAIN_FORWARD, gen, pkt->len);
	/* One record for the flow and its masquerade: half the ring traffic
	 * of reporting them apart, as tc does. */
	if (cfg->flow_events != SLUICE_FLOW_EVENTS_ALL)
		return ct;
	if (ct->nat & SLUICE_NAT_SNAT)
		report_masqueraded_flow(pkt, ctx->ingress_ifindex, v.rule_index, gen, out,
					ct->snat_addr, ct->snat_port, now);
	else
		report_verdict(SLUICE_EVENT_NEW_FLOW, pkt, ctx->ingress_ifindex,
			       SLUICE_CHAIN_FORWARD, v.rule_index, gen, SLUICE_ACTION_ACCEPT, now);
	return ct;
}

/* The flow a packet belongs to, as the inside sees it. */
struct fast_flow {
	const __u8 *dst;	      /* the destination with a translation undone */
	struct sluice_ct_entry *dnat; /* that translation, if any */
	struct sluice_ct_entry *ct;   /* NULL: none yet */
	__u16 sport, dport;	      /* as the inside sees them */
	int src_is_a;		      /* ct_make_key()'s answer for the packet */
};

/* TCP (but flag combinations no stack sends), UDP and ICMP echo qualify;
 * other ICMP and other protocols, fragments and frames with VLAN tags go
 * to tc. */
static __always_inline int fast_candidate(const struct packet *pkt)
{
	if (pkt->later_fragment || pkt->l3_off != sizeof(struct ethhdr))
		return 0;
	if (pkt->proto == IPPROTO_TCP)
		return !tcp_flags_invalid(pkt->tcp_flags);
	return pkt->proto == IPPROTO_UDP ||
	       (is_icmp(pkt->proto) && icmp_is_echo(pkt->proto, pkt->icmp_type));
}

/*
 * Whether XDP moves a tracked TCP flow's state for a packet with flags
 * itself, as tc's ct_track() would: the handshake after the SYN, data,
 * FINs, and a RST, while the flow is open or closing. Left to tc: a SYN of
 * a known flow (retransmitted, or the tuple opening again, which tc ends
 * and restarts) and anything after a RST. A connection then leaves the
 * fast path for none of its packets: each packet that left it paid XDP,
 * the skb, tc twice and the kernel's forwarding.
 */
static __always_inline int fast_tcp_follows(const struct sluice_ct_entry *ct, __u8 flags)
{
	if (tcp_opens_flow(flags))
		return 0;
	return ct->state >= SLUICE_CT_SYN_SENT && ct->state <= SLUICE_CT_CLOSING;
}

/* Finds the packet's flow: replies to masquerade and port forwards in
 * their original direction find a translation under their tuple, and the
 * flow under the tuple with the destination given back. Translations are
 * keyed by this host's addresses: a packet to any other finds its flow,
 * or nothing, with one lookup. Whether the destination is this host's is
 * asked only where it decides something (a translation found, no flow):
 * a packet of an established forwarded flow pays no lookup for it. */
static __always_inline void fast_find_flow(const struct packet *pkt, struct fast_scratch *sc,
					   struct fast_flow *fl)
{
	struct sluice_ct_entry *e;

	fl->dst = pkt->dst;
	fl->sport = pkt->sport;
	fl->dport = pkt->dport;
	fl->dnat = NULL;
	fl->src_is_a =
	    ct_make_key(&sc->key, pkt->family, pkt->proto, pkt->src, fl->sport, fl->dst, fl->dport);
	e = ct_table_lookup(&sc->key);
	if (e && ct_is_translation(e)) {
		/* Only one for this packet's direction is the way back. */
		if (e->originator_is_a != fl->src_is_a || !is_local(pkt->family, pkt->dst)) {
			fl->ct = NULL;
			return;
		}
		fl->dnat = e;
		fl->dst = e->dnat_addr;
		fl->dport = e->dnat_port;
		if (is_icmp(pkt->proto))
			fl->sport = fl->dport;
		fl->src_is_a = ct_make_key(&sc->key, pkt->family, pkt->proto, pkt->src, fl->sport,
					   fl->dst, fl->dport);
		e = ct_lookup_flow(&sc->key);
	}
	fl->ct = e;
}

/* Whether the flow may go on: a first packet only when it opens a flow
 * through this host (not to or from it, not one a stale translation
 * rewrote); a known flow only when forwarded, live, its masquerade decided
 * and (TCP) its state one XDP follows. */
static __always_inline int fast_check_flow(const struct packet *pkt, const struct fast_flow *fl,
					   __u64 now, __u32 len)
{
	const struct sluice_ct_entry *ct = fl->ct;

	if (!ct) {
		if (fl->dnat || (pkt->proto == IPPROTO_TCP && !tcp_opens_flow(pkt->tcp_flags)) ||
		    is_local(pkt->family, pkt->dst) || is_local(pkt->family, pkt->src))
			return XDP_PASS;
		return FAST_CONTINUE;
	}
	if (ct->chain != SLUICE_CHAIN_FORWARD || ct->proxied)
		return XDP_PASS; /* to or from this host, or to the proxy: the kernel's */
	if (ct_expired(ct, pkt->proto, now) ||
	    (pkt->proto == IPPROTO_TCP && !fast_tcp_follows(ct, pkt->tcp_flags)) ||
	    !(ct->nat & SLUICE_NAT_DECIDED))
		return fast_kernel(SLUICE_FAST_KERNEL_OTHER, len);
	return FAST_CONTINUE;
}

/* The route and neighbour for the way out; *out is the egress ifindex. */
static __always_inline int fast_route(struct xdp_md *ctx, const struct packet *pkt,
				      const struct fast_frame *f, const struct fast_flow *fl,
				      struct fast_scratch *sc, __u32 len, __u32 *out)
{
	int rc;

	__builtin_memset(&sc->fib, 0, sizeof(sc->fib));
	sc->fib.l4_protocol = pkt->proto;
	sc->fib.sport = fl->sport;
	sc->fib.dport = fl->dport;
	sc->fib.ifindex = ctx->ingress_ifindex;
	if (f->ip4) {
		sc->fib.family = FAST_AF_INET;
		sc->fib.tos = f->ip4->tos;
		sc->fib.tot_len = bpf_ntohs(f->ip4->tot_len);
		__builtin_memcpy(&sc->fib.ipv4_src, pkt->src, 4);
		__builtin_memcpy(&sc->fib.ipv4_dst, fl->dst, 4);
	} else if (f->ip6) {
		sc->fib.family = FAST_AF_INET6;
		sc->fib.flowinfo = *(__be32 *)f->ip6 & FAST_IPV6_FLOWINFO_MASK;
		sc->fib.tot_len = bpf_ntohs(f->ip6->payload_len) + sizeof(struct ipv6hdr);
		__builtin_memcpy(sc->fib.ipv6_src, pkt->src, 16);
		__builtin_memcpy(sc->fib.ipv6_dst, fl->dst, 16);
	}
	rc = bpf_fib_lookup(ctx, &sc->fib, sizeof(sc->fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return fast_kernel(SLUICE_FAST_KERNEL_NO_NEIGHBOUR, len);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return fast_kernel(SLUICE_FAST_KERNEL_MTU, len);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return fast_kernel(SLUICE_FAST_KERNEL_ROUTE, len);
	*out = sc->fib.ifindex;
	if (!bpf_map_lookup_elem(&fast_ports, out))
		return fast_kernel(SLUICE_FAST_KERNEL_OTHER, len);
	return FAST_CONTINUE;
}

/* Rewrites the frame for the way out: the flow's translations, the TTL
 * (or hop limit) and the MACs bpf_fib_lookup found. */
static __always_inline void fast_rewrite(void *data, struct fast_frame *f, struct fast_scratch *sc,
					 const struct packet *pkt, const struct fast_flow *fl,
					 const struct sluice_ct_entry *ct, __u8 dir)
{
	struct ethhdr *eth = data;
	const __u8 *src_to;
	__u16 sport_to;

	if (fl->dnat) {
		fast_set_addr(f, sc, 1, fl->dnat->dnat_addr);
		fast_set_port(f, pkt->proto, 1, fl->dnat->dnat_port);
	}
	if (ct_source_translation(ct, dir, &src_to, &sport_to)) {
		fast_set_addr(f, sc, 0, src_to);
		fast_set_port(f, pkt->proto, 0, sport_to);
	}
	if (f->ip4) {
		f->ip4->check = csum_after_ttl_decrement(f->ip4->check);
		f->ip4->ttl--;
	} else if (f->ip6) {
		f->ip6->hop_limit--;
	}
	__builtin_memcpy(eth->h_dest, sc->fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, sc->fib.smac, ETH_ALEN);
}

static __always_inline int fastpath_forward(struct xdp_md *ctx, const struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct fast_scratch *sc;
	struct fast_frame f = {};
	struct fast_flow fl;
	struct sluice_ct_entry *ct;
	__u32 zero = 0, out = 0, len = pkt->len;
	__u64 now;
	__u8 dir;
	int rc;

	if (!fast_candidate(pkt))
		return XDP_PASS;
	sc = bpf_map_lookup_elem(&fast_scratch, &zero);
	if (!sc)
		return XDP_PASS;
	fast_find_flow(pkt, sc, &fl);
	/* A known flow's time decides its expiry, in seconds: the clock as of
	 * the last tick (coarse, a few ms behind) does, at a fraction of the
	 * precise clock's cost (a tenth of this program's time per packet of
	 * an established flow, measured). A new flow's time goes into its
	 * record: precise. */
	now = fl.ct ? bpf_ktime_get_coarse_ns() : bpf_ktime_get_ns();
	rc = fast_check_flow(pkt, &fl, now, len);
	if (rc != FAST_CONTINUE)
		return rc;
	if (pkt->ttl <= 1)
		return fast_kernel(SLUICE_FAST_KERNEL_TTL, len);
	if (fast_frame_of(data, data_end, pkt, &f))
		return fast_kernel(SLUICE_FAST_KERNEL_OTHER, len);
	rc = fast_route(ctx, pkt, &f, &fl, sc, len, &out);
	if (rc != FAST_CONTINUE)
		return rc;

	ct = fl.ct;
	if (!ct) {
		ct = fast_new_flow(ctx, pkt, sc, out, now);
		if (!ct)
			return XDP_PASS;
		if (ct == FAST_NAT_FAILED)
			return XDP_DROP;
		dir = SLUICE_DIR_ORIGINAL;
	} else {
		dir = ct_direction(ct, fl.src_is_a);
		if (out != (dir == SLUICE_DIR_ORIGINAL ? ct->out_ifindex : ct->in_ifindex))
			return fast_kernel(SLUICE_FAST_KERNEL_ROUTE, len);
	}

	/* From here on the frame is rewritten and must leave by the devmap. */
	fast_rewrite(data, &f, sc, pkt, &fl, ct, dir);
	if (fl.ct) { /* a new entry has its first packet counted already */
		if (pkt->proto == IPPROTO_TCP)
			ct->state = ct_tcp_next_state(ct, dir, pkt->tcp_flags);
		ct_account(ct, pkt->proto, dir, len, now);
	}
	counter_add(&fastpath_counters, fl.ct ? SLUICE_FAST_FORWARDED : SLUICE_FAST_NEW_FLOW, len);
	return bpf_redirect_map(&fast_ports, out, 0);
}

#endif
