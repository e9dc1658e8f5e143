/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NAT in the tc programs (kernel side only): masquerade and port
 * forwarding, every translation owned by a conntrack entry.
 *
 * Destination rewrites happen at ingress, before routing and before the
 * filter: replies to masqueraded flows get their inside address back, new
 * connections to a forwarded port get the inside host's. Source rewrites
 * happen at egress, once routing chose the way out: masquerade to that
 * interface's address, and the public address back on replies of
 * port-forwarded flows. Policy and conntrack therefore see every flow as
 * the inside does (after DNAT, before SNAT), as with netfilter.
 *
 * ICMP errors quoting a translated packet are translated too: the quote,
 * and the outer address when it is the translated one.
 *
 * Contract: nat_ingress() and nat_egress() return SLUICE_DROP_NONE or
 * SLUICE_DROP_NAT_FAILED; on success *pkt describes the packet as it now is.
 */
#ifndef SLUICE_LIB_NAT_H
#define SLUICE_LIB_NAT_H

#include "parse.h"
#include "conntrack.h"
#include "local.h"
#include "nat_maps.h"
#include "stats_maps.h"
#include "events.h"

#define IPV4_CSUM_OFF 10
#define IPV4_SADDR_OFF 12
#define IPV4_DADDR_OFF 16
#define IPV6_SADDR_OFF 8
#define IPV6_DADDR_OFF 24
#define ICMP_CSUM_OFF 2
#define ICMP_ECHO_ID_OFF 4

enum nat_side {
	NAT_SRC = 0,
	NAT_DST = 1,
};

/* Offset of the transport checksum in its header, or -1. */
static __always_inline int l4_csum_off(__u8 proto)
{
	if (proto == IPPROTO_TCP)
		return 16;
	if (proto == IPPROTO_UDP)
		return 6;
	if (is_icmp(proto))
		return ICMP_CSUM_OFF;
	return -1;
}

static __always_inline __u32 addr_off(__u8 family, enum nat_side side)
{
	if (family == SLUICE_FAMILY_IPV4)
		return side == NAT_SRC ? IPV4_SADDR_OFF : IPV4_DADDR_OFF;
	return side == NAT_SRC ? IPV6_SADDR_OFF : IPV6_DADDR_OFF;
}

/* Where a port (or the ICMP echo identifier, both "ports") sits. */
static __always_inline __u32 port_off(__u8 proto, enum nat_side side)
{
	if (is_icmp(proto))
		return ICMP_ECHO_ID_OFF;
	return side == NAT_SRC ? 0 : 2;
}

/* The checksum difference of replacing an address; < 0 on failure. */
static __always_inline __s64 addr_csum_diff(__u8 family, const __u8 *from, const __u8 *to)
{
	if (family == SLUICE_FAMILY_IPV4)
		return bpf_csum_diff((__be32 *)from, 4, (__be32 *)to, 4, 0);
	return bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);
}

static __always_inline int store_addr(struct __sk_buff *skb, __u8 family, __u32 off,
				      const __u8 *addr)
{
	if (family == SLUICE_FAMILY_IPV4)
		return bpf_skb_store_bytes(skb, off, addr, 4, 0);
	return bpf_skb_store_bytes(skb, off, addr, 16, 0);
}

/*
 * Replaces the source or destination address of the packet's own IP
 * header, keeping the IPv4 header checksum and the transport checksum
 * (whose pseudo header holds the address; ICMPv4 has none) right.
 */
static __always_inline int rewrite_addr(struct __sk_buff *skb, const struct packet *pkt,
					enum nat_side side, const __u8 *to)
{
	const __u8 *from = side == NAT_SRC ? pkt->src : pkt->dst;
	int csum_off = l4_csum_off(pkt->proto);
	__s64 diff = addr_csum_diff(pkt->family, from, to);

	if (diff < 0)
		return -1;
	if (pkt->family == SLUICE_FAMILY_IPV4 &&
	    bpf_l3_csum_replace(skb, pkt->l3_off + IPV4_CSUM_OFF, 0, diff, 0))
		return -1;
	if (csum_off >= 0 && pkt->proto != IPPROTO_ICMP) {
		__u64 flags =
		    BPF_F_PSEUDO_HDR | (pkt->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);

		if (bpf_l4_csum_replace(skb, pkt->l4_off + csum_off, 0, diff, flags))
			return -1;
	}
	return store_addr(skb, pkt->family, pkt->l3_off + addr_off(pkt->family, side), to);
}

static __always_inline int rewrite_port(struct __sk_buff *skb, const struct packet *pkt,
					enum nat_side side, __u16 to)
{
	__u16 from = side == NAT_SRC ? pkt->sport : pkt->dport;
	int csum_off = l4_csum_off(pkt->proto);

	if (from == to)
		return 0;
	if (csum_off < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, pkt->l4_off + csum_off, from, to,
				2 | (pkt->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0)))
		return -1;
	return bpf_skb_store_bytes(skb, pkt->l4_off + port_off(pkt->proto, side), &to, 2, 0);
}

/* Rewrites one end of the packet to addr:port and makes *pkt say so. */
static __always_inline int nat_rewrite(struct __sk_buff *skb, struct packet *pkt,
				       enum nat_side side, const __u8 *addr, __u16 port)
{
	if (rewrite_addr(skb, pkt, side, addr) || rewrite_port(skb, pkt, side, port))
		return SLUICE_DROP_NAT_FAILED;
	if (side == NAT_SRC) {
		__builtin_memcpy(pkt->src, addr, 16);
		pkt->sport = port;
	} else {
		__builtin_memcpy(pkt->dst, addr, 16);
		pkt->dport = port;
	}
	if (is_icmp(pkt->proto)) /* the echo identifier is both ports */
		pkt->sport = pkt->dport = port;
	counter_add(&nat_counters, SLUICE_NAT_REWRITTEN, pkt->len);
	return SLUICE_DROP_NONE;
}

/*
 * The translation for a tuple arriving from outside (src -> dst), if its
 * flow lives. key and flow are room for the keys (the caller's scratch):
 * the translation's, and its flow's.
 */
static __always_inline struct sluice_ct_entry *
nat_translation(struct sluice_ct_key *key, struct sluice_ct_key *flow, __u8 family, __u8 proto,
		const __u8 *src, __u16 sport, const __u8 *dst, __u16 dport)
{
	int src_is_a = ct_make_key(key, family, proto, src, sport, dst, dport);
	struct sluice_ct_entry *t = ct_table_lookup(key);

	/* The tuple of a flow, or of a translation for the other way round. */
	if (!t || !ct_is_translation(t) || t->originator_is_a != src_is_a)
		return NULL;
	ct_translation_owner(flow, key, t);
	return ct_lookup_flow(flow) ? t : NULL;
}

/*
 * Rewrites a field of the packet an ICMP error quotes. The ICMP checksum
 * covers the quote, so it follows every change, including the quoted IPv4
 * header's own checksum. The quoted transport checksum is left as it is:
 * receivers of ICMP errors do not check it (only 8 bytes are promised).
 */
static __always_inline int rewrite_quoted(struct __sk_buff *skb, const struct packet *outer,
					  const struct packet *inner, enum nat_side side,
					  const __u8 *addr, __u16 port)
{
	const __u8 *from = side == NAT_SRC ? inner->src : inner->dst;
	__u16 from_port = side == NAT_SRC ? inner->sport : inner->dport;
	__u32 icmp_csum = outer->l4_off + ICMP_CSUM_OFF;
	__s64 diff = addr_csum_diff(inner->family, from, addr);

	if (diff < 0)
		return -1;
	if (inner->family == SLUICE_FAMILY_IPV4) {
		__u16 before, after;

		if (bpf_skb_load_bytes(skb, inner->l3_off + IPV4_CSUM_OFF, &before, 2) ||
		    bpf_l3_csum_replace(skb, inner->l3_off + IPV4_CSUM_OFF, 0, diff, 0) ||
		    bpf_skb_load_bytes(skb, inner->l3_off + IPV4_CSUM_OFF, &after, 2) ||
		    bpf_l4_csum_replace(skb, icmp_csum, before, after, 2))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, icmp_csum, 0, diff, 0) ||
	    store_addr(skb, inner->family, inner->l3_off + addr_off(inner->family, side), addr))
		return -1;
	if (port == from_port)
		return 0;
	if (bpf_l4_csum_replace(skb, icmp_csum, from_port, port, 2))
		return -1;
	return bpf_skb_store_bytes(skb, inner->l4_off + port_off(inner->proto, side), &port, 2, 0);
}

static __always_inline int parse_quote(struct __sk_buff *skb, const struct packet *pkt,
				       struct packet *inner)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	return parse_icmp_quote(data, data_end, pkt, inner);
}

static __always_inline int same_addr(const __u8 *a, const __u8 *b)
{
	__u8 diff = 0;

	for (int i = 0; i < 16; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/*
 * An ICMP error arriving from outside about a packet we translated on the
 * way out: the quote is that packet as sent, so its reverse is a tuple
 * replies arrive with, and its translation undoes ours.
 */
static __always_inline int nat_icmp_error_in(struct __sk_buff *skb, struct packet *pkt,
					     struct nat_scratch *s)
{
	struct packet *inner = &s->inner;
	struct sluice_ct_entry *t;

	__builtin_memset(inner, 0, sizeof(*inner));
	if (parse_quote(skb, pkt, inner) != SLUICE_DROP_NONE || inner->later_fragment)
		return SLUICE_DROP_NONE;
	t = nat_translation(&s->key, &s->flow, inner->family, inner->proto, inner->dst,
			    inner->dport, inner->src, inner->sport);
	if (!t)
		return SLUICE_DROP_NONE;
	if (rewrite_quoted(skb, pkt, inner, NAT_SRC, t->dnat_addr, t->dnat_port))
		return SLUICE_DROP_NAT_FAILED;
	if (same_addr(pkt->dst, inner->src)) {
		if (rewrite_addr(skb, pkt, NAT_DST, t->dnat_addr))
			return SLUICE_DROP_NAT_FAILED;
		__builtin_memcpy(pkt->dst, t->dnat_addr, 16);
	}
	counter_add(&nat_counters, SLUICE_NAT_ICMP_ERROR, pkt->len);
	return SLUICE_DROP_NONE;
}

/*
 * Destination NAT at ingress. A global function: the verifier checks it
 * once.
 */
__noinline int nat_ingress(struct __sk_buff *skb, struct packet *pkt)
{
	struct sluice_port_forward_key fkey = {};
	struct sluice_port_forward *fwd;
	struct sluice_ct_entry *t;
	struct nat_scratch *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!skb || !pkt || !s)
		return SLUICE_DROP_NONE;
	if (is_icmp(pkt->proto) && icmp_is_error(pkt->proto, pkt->icmp_type))
		return nat_icmp_error_in(skb, pkt, s);

	/* Translations and port forwards are keyed by addresses of this host
	 * (masquerade and public addresses): anything else needs no lookup. */
	if (!is_local(pkt->family, pkt->dst))
		return SLUICE_DROP_NONE;

	/* A packet of a translated flow: replies to masquerade, and the
	 * original direction of a port forward (which keeps its inside host
	 * even when the forward changes). */
	t = nat_translation(&s->key, &s->flow, pkt->family, pkt->proto, pkt->src, pkt->sport,
			    pkt->dst, pkt->dport);
	if (t)
		return nat_rewrite(skb, pkt, NAT_DST, t->dnat_addr, t->dnat_port);

	/* A new connection to a forwarded port. Hairpin needs nothing more
	 * here: inside clients hit the same public address. */
	if (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP)
		return SLUICE_DROP_NONE;
	fkey.family = pkt->family;
	fkey.proto = pkt->proto;
	fkey.port = pkt->dport;
	__builtin_memcpy(fkey.addr, pkt->dst, 16);
	fwd = bpf_map_lookup_elem(&port_forwards, &fkey);
	if (!fwd)
		return SLUICE_DROP_NONE;
	pkt->dnat = 1;
	__builtin_memcpy(pkt->orig_dst, pkt->dst, 16);
	pkt->orig_dport = pkt->dport;
	return nat_rewrite(skb, pkt, NAT_DST, fwd->addr, fwd->port);
}

/* Starts a translation (s->translation) leading to inside:inside_port,
 * made at now; the caller gives it its key. */
static __always_inline void nat_translation_init(struct nat_scratch *s, const __u8 *inside,
						 __u16 inside_port, __u64 now)
{
	__builtin_memset(&s->translation, 0, sizeof(s->translation));
	s->translation.nat = SLUICE_NAT_TRANSLATION;
	s->translation.created_ns = now;
	s->translation.last_seen_ns = now;
	__builtin_memcpy(s->translation.dnat_addr, inside, 16);
	s->translation.dnat_port = inside_port;
}

/* Records the port forward of a flow conntrack just accepted, so that the
 * rest of it keeps its inside host (even should the forward change). A
 * global function. */
__noinline int nat_remember_port_forward(const struct packet *pkt)
{
	struct nat_scratch *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!pkt || !pkt->dnat || !s)
		return 0;
	nat_translation_init(s, pkt->dst, pkt->dport, bpf_ktime_get_ns());
	s->translation.originator_is_a = ct_make_key(&s->key, pkt->family, pkt->proto, pkt->src,
						     pkt->sport, pkt->orig_dst, pkt->orig_dport);
	counter_add(&nat_counters, SLUICE_NAT_NEW_PORT_FORWARD, pkt->len);
	return ct_table_update(&s->key, &s->translation, BPF_ANY);
}

/* Whether a flow leaving by ifindex is masqueraded. */
static __always_inline int masquerade_wanted(__u32 ifindex, const struct packet *pkt,
					     const struct sluice_ct_entry *ct)
{
	struct sluice_masq_source_key mk = {
	    .prefixlen =
		SLUICE_MASQ_KEY_FIXED_BITS + (pkt->family == SLUICE_FAMILY_IPV4 ? 32 : 128),
	    .ifindex = ifindex,
	    .family = pkt->family,
	};

	__builtin_memcpy(mk.addr, pkt->src, 16);
	if (bpf_map_lookup_elem(&masq_sources, &mk))
		return 1;
	/* Hairpin: a port-forwarded flow going back out of the interface it
	 * came in by; without masquerade the inside host would answer the
	 * client directly and the client would drop the answer. */
	return (ct->nat & SLUICE_NAT_DNAT) && ct->in_ifindex == ifindex;
}

/* Whether an ended TCP flow (FINs both ways, or a RST) has been quiet for
 * SLUICE_NAT_REUSE_ENDED_SECONDS: a late retransmission is unlikely now. */
static __always_inline int nat_ended_flow_quiet(const struct sluice_ct_entry *ct, __u64 now)
{
	return now > ct->last_seen_ns &&
	       now - ct->last_seen_ns >= SLUICE_NAT_REUSE_ENDED_SECONDS * 1000000000ull;
}

/*
 * Whether the entry old, under the key s->key, may become the translation
 * s->translation for the flow s->flow: it is a translation (not a
 * connection of this host's own), and it belongs to that very flow (an
 * earlier flow of the tuple left it; its conntrack entry is this flow's
 * now), its flow is gone, or its flow is a TCP connection that closed (its
 * later FIN acknowledged) or ended and has been quiet for
 * SLUICE_NAT_REUSE_ENDED_SECONDS. An ended flow handing its port on is
 * over: it is removed (and reported closed).
 */
static __always_inline int nat_entry_free_for(const struct sluice_ct_entry *old,
					      struct nat_scratch *s)
{
	struct sluice_ct_entry *owner;
	__u64 now;

	if (!ct_is_translation(old))
		return 0;
	ct_translation_owner(&s->owner, &s->key, old);
	if (ct_key_equal(&s->owner, &s->flow))
		return 1;
	owner = ct_lookup_flow(&s->owner);
	if (!owner)
		return 1;
	if (s->key.proto != IPPROTO_TCP || owner->state < SLUICE_CT_CLOSING)
		return 0;
	now = bpf_ktime_get_ns();
	if (!ct_tcp_closed_cleanly(owner) && !nat_ended_flow_quiet(owner, now))
		return 0;
	ct_end(&s->owner, owner, now);
	return 1;
}

/*
 * Finds a port on the egress address no other flow uses towards this
 * destination and claims it: the translation is inserted into the
 * conntrack table with BPF_NOEXIST, so two flows can never hold the same
 * one, nor can a translation take the tuple of a connection of this
 * host's own; an entry that is free for this flow (nat_entry_free_for) is
 * taken over. The flow's own port is kept when it is free and in range. A
 * global function: the verifier checks the loop once.
 */
__noinline int nat_allocate(__u32 ifindex, const struct packet *pkt, struct sluice_ct_entry *ct)
{
	struct sluice_iface_addr_key ak = {.ifindex = ifindex};
	struct sluice_ct_entry *old;
	struct sluice_iface_addr *ia;
	struct nat_scratch *s;
	__u32 zero = 0;
	__u16 start, port = 0;
	int found = 0;

	s = bpf_map_lookup_elem(&nat_scratch, &zero);
	if (!pkt || !ct || !s)
		return -1;
	ak.family = pkt->family;
	ia = bpf_map_lookup_elem(&iface_addrs, &ak);
	if (!ia)
		return -1;
	/* The flow's entry has the time of the packet at hand (ct_init,
	 * ct_account): no clock read of its own. */
	nat_translation_init(s, pkt->src, pkt->sport,
			     ct->last_seen_ns ? ct->last_seen_ns : bpf_ktime_get_ns());
	ct_make_key(&s->flow, pkt->family, pkt->proto, pkt->src, pkt->sport, pkt->dst, pkt->dport);
	start = bpf_ntohs(pkt->sport);

	for (int i = 0; i < SLUICE_NAT_PORT_TRIES; i++) {
		__u16 candidate = start;

		if (i > 0 || start < SLUICE_NAT_PORT_MIN || start > SLUICE_NAT_PORT_MAX)
			candidate =
			    SLUICE_NAT_PORT_MIN +
			    bpf_get_prandom_u32() % (SLUICE_NAT_PORT_MAX - SLUICE_NAT_PORT_MIN + 1);
		port = bpf_htons(candidate);
		/* Replies come from the destination to that port. */
		s->translation.originator_is_a =
		    ct_make_key(&s->key, pkt->family, pkt->proto, pkt->dst,
				is_icmp(pkt->proto) ? port : pkt->dport, ia->addr, port);
		if (ct_table_update(&s->key, &s->translation, BPF_NOEXIST) == 0) {
			found = 1;
			break;
		}
		old = ct_table_lookup(&s->key);
		if (old && nat_entry_free_for(old, s) &&
		    ct_table_update(&s->key, &s->translation, BPF_EXIST) == 0) {
			found = 1;
			break;
		}
	}
	if (!found)
		return -1;
	__builtin_memcpy(ct->snat_addr, ia->addr, 16);
	ct->snat_port = port;
	ct->nat |= SLUICE_NAT_SNAT;
	return 0;
}

/*
 * The source a packet of ct leaves with when going in dir, if translated:
 * the originator's public address on the way out (masquerade), the
 * address the originator used on the way back (port forward). Returns 0
 * when that direction is not translated.
 */
static __always_inline int ct_source_translation(const struct sluice_ct_entry *ct, int dir,
						 const __u8 **addr, __u16 *port)
{
	if (dir == SLUICE_DIR_ORIGINAL && (ct->nat & SLUICE_NAT_SNAT)) {
		*addr = ct->snat_addr;
		*port = ct->snat_port;
		return 1;
	}
	if (dir == SLUICE_DIR_REPLY && (ct->nat & SLUICE_NAT_DNAT)) {
		*addr = ct->dnat_addr;
		*port = ct->dnat_port;
		return 1;
	}
	return 0;
}

/*
 * The first time a flow's original direction leaves (by ifindex, or by
 * another interface after a route change): decides its masquerade and
 * claims its port. After this, the flow may take the XDP fast path.
 * report: whether to report the translation now (the fast path reports it
 * with the new flow instead). Returns -1 when no port was free.
 */
static __always_inline int nat_decide_source(__u32 ifindex, const struct packet *pkt,
					     struct sluice_ct_entry *ct, int report)
{
	if ((ct->nat & SLUICE_NAT_DECIDED) && ct->out_ifindex == ifindex)
		return 0;
	if (!(ct->nat & SLUICE_NAT_SNAT) && masquerade_wanted(ifindex, pkt, ct)) {
		if (nat_allocate(ifindex, pkt, ct))
			return -1;
		counter_add(&nat_counters,
			    (ct->nat & SLUICE_NAT_DNAT) ? SLUICE_NAT_NEW_HAIRPIN
							: SLUICE_NAT_NEW_MASQUERADE,
			    pkt->len);
		if (report)
			report_source_nat(pkt, ifindex, ct->snat_addr, ct->snat_port);
	}
	ct->out_ifindex = ifindex;
	ct->nat |= SLUICE_NAT_DECIDED;
	return 0;
}

/*
 * An ICMP error leaving about a packet of a translated flow: the far side
 * must see the addresses it knows. A quote in the original direction is
 * shown with the address the originator used (port forward); a quote in
 * the reply direction with the originator's public address (masquerade).
 */
static __always_inline int nat_icmp_error_out(struct __sk_buff *skb, struct packet *pkt)
{
	struct sluice_ct_entry *ct;
	struct sluice_ct_key key;
	struct packet inner = {};
	const __u8 *to;
	__u16 port;
	int src_is_a;

	if (parse_quote(skb, pkt, &inner) != SLUICE_DROP_NONE || inner.later_fragment)
		return SLUICE_DROP_NONE;
	src_is_a = ct_make_key(&key, inner.family, inner.proto, inner.src, inner.sport, inner.dst,
			       inner.dport);
	ct = ct_lookup_flow(&key);
	/* The error travels against the quoted packet's direction. */
	if (!ct || !ct_source_translation(ct, ct_opposite(ct_direction(ct, src_is_a)), &to, &port))
		return SLUICE_DROP_NONE;
	if (rewrite_quoted(skb, pkt, &inner, NAT_DST, to, port))
		return SLUICE_DROP_NAT_FAILED;
	if (same_addr(pkt->src, inner.dst)) {
		if (rewrite_addr(skb, pkt, NAT_SRC, to))
			return SLUICE_DROP_NAT_FAILED;
		__builtin_memcpy(pkt->src, to, 16);
	}
	counter_add(&nat_counters, SLUICE_NAT_ICMP_ERROR, pkt->len);
	return SLUICE_DROP_NONE;
}

/*
 * Source NAT at egress for a packet this host forwards (or, for ICMP
 * errors, also one it generated). A global function: the verifier checks
 * it once.
 */
__noinline int nat_egress(struct __sk_buff *skb, struct packet *pkt)
{
	struct sluice_ct_entry *ct;
	struct sluice_ct_key key;
	const __u8 *addr;
	__u16 port;
	int src_is_a, dir;

	if (!skb || !pkt)
		return SLUICE_DROP_NONE;
	if (is_icmp(pkt->proto) && icmp_is_error(pkt->proto, pkt->icmp_type))
		return nat_icmp_error_out(skb, pkt);

	src_is_a =
	    ct_make_key(&key, pkt->family, pkt->proto, pkt->src, pkt->sport, pkt->dst, pkt->dport);
	ct = ct_lookup_flow(&key);
	if (!ct)
		return SLUICE_DROP_NONE;
	dir = ct_direction(ct, src_is_a);
	if (dir == SLUICE_DIR_ORIGINAL && nat_decide_source(skb->ifindex, pkt, ct, 1))
		return SLUICE_DROP_NAT_FAILED;
	if (!ct_source_translation(ct, dir, &addr, &port))
		return SLUICE_DROP_NONE;
	return nat_rewrite(skb, pkt, NAT_SRC, addr, port);
}

#endif
