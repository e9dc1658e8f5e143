/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking (kernel side only): normalised keys, the TCP state
 * machine and per-state timeouts. A flow gets an entry only once policy
 * accepted its first packet; every later packet of it, both ways, is
 * allowed by finding that entry.
 */
#ifndef SLUICE_LIB_CONNTRACK_H
#define SLUICE_LIB_CONNTRACK_H

#include "parse.h"
#include "conntrack_maps.h"
#include "events.h"

/* Lexicographic order of (address, port) endpoints; any total order works
 * as long as both directions of a flow agree on it. */
static __always_inline int endpoint_less(const __u8 *a, __u16 pa, const __u8 *b, __u16 pb)
{
	for (int i = 0; i < 16; i++) {
		if (a[i] != b[i])
			return a[i] < b[i];
	}
	return pa < pb;
}

/* Fills key for the flow of src:sport -> dst:dport; returns 1 when the source
 * is endpoint a. */
static __always_inline int ct_make_key(struct sluice_ct_key *key, __u8 family, __u8 proto,
				       const __u8 *src, __u16 sport, const __u8 *dst, __u16 dport)
{
	int src_is_a = endpoint_less(src, sport, dst, dport);

	__builtin_memset(key, 0, sizeof(*key));
	key->family = family;
	key->proto = proto;
	if (src_is_a) {
		__builtin_memcpy(key->addr_a, src, 16);
		__builtin_memcpy(key->addr_b, dst, 16);
		key->port_a = sport;
		key->port_b = dport;
	} else {
		__builtin_memcpy(key->addr_a, dst, 16);
		__builtin_memcpy(key->addr_b, src, 16);
		key->port_a = dport;
		key->port_b = sport;
	}
	return src_is_a;
}

static __always_inline int ct_key_equal(const struct sluice_ct_key *x,
					const struct sluice_ct_key *y)
{
	const __u8 *a = (const __u8 *)x, *b = (const __u8 *)y;
	__u8 diff = 0;

	for (int i = 0; i < (int)sizeof(*x); i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* Whether an entry of the table is a translation, not a flow (see
 * SLUICE_NAT_TRANSLATION in abi.h). */
static __always_inline int ct_is_translation(const struct sluice_ct_entry *e)
{
	return e->nat & SLUICE_NAT_TRANSLATION;
}

/* The flow the table holds under key, if any: a translation under that
 * key is not one. */
static __always_inline struct sluice_ct_entry *ct_lookup_flow(const struct sluice_ct_key *key)
{
	struct sluice_ct_entry *ct = ct_table_lookup(key);

	return ct && !ct_is_translation(ct) ? ct : NULL;
}

/* The key of the flow the translation t (found under key) leads to: its
 * outside end with the inside end t gives (ICMP echo: one identifier). */
static __always_inline void ct_translation_owner(struct sluice_ct_key *owner,
						 const struct sluice_ct_key *key,
						 const struct sluice_ct_entry *t)
{
	const __u8 *outside = t->originator_is_a ? key->addr_a : key->addr_b;
	__u16 outside_port = t->originator_is_a ? key->port_a : key->port_b;

	if (is_icmp(key->proto))
		outside_port = t->dnat_port;
	ct_make_key(owner, key->family, key->proto, outside, outside_port, t->dnat_addr,
		    t->dnat_port);
}

static __always_inline __u64 ct_timeout_ns(const struct sluice_ct_entry *ct, __u8 proto)
{
	return sluice_ct_timeout_seconds(proto, ct->state) * 1000000000ull;
}

/*
 * Whether the flow has been idle past its state's timeout at now. The two
 * directions of a flow are handled on different CPUs at once, so another
 * CPU may have stamped last_seen after this packet read its clock: such a
 * flow is fresh, not (by unsigned wrap-around) idle for centuries. Ending
 * it there cut live flows mid-stream (the next packet was picked up as a
 * new flow with another masquerade port, and the server reset it).
 */
static __always_inline int ct_expired(const struct sluice_ct_entry *ct, __u8 proto, __u64 now)
{
	__u64 last_seen = ct->last_seen_ns;

	return now > last_seen && now - last_seen > ct_timeout_ns(ct, proto);
}

/* The direction of a packet in its flow, from ct_make_key()'s answer for
 * the packet's own tuple. */
static __always_inline __u8 ct_direction(const struct sluice_ct_entry *ct, int src_is_a)
{
	return src_is_a == ct->originator_is_a ? SLUICE_DIR_ORIGINAL : SLUICE_DIR_REPLY;
}

static __always_inline __u8 ct_opposite(__u8 dir)
{
	return dir == SLUICE_DIR_ORIGINAL ? SLUICE_DIR_REPLY : SLUICE_DIR_ORIGINAL;
}

/* Counts a packet of len bytes going in dir and marks the flow seen at
 * now. A reply establishes a UDP or ICMP flow; TCP states move in
 * ct_tcp_next_state(), on the packets tc sees. */
static __always_inline void ct_account(struct sluice_ct_entry *ct, __u8 proto, __u8 dir, __u32 len,
				       __u64 now)
{
	if (proto != IPPROTO_TCP && dir == SLUICE_DIR_REPLY)
		ct->state = SLUICE_CT_ESTABLISHED;
	/* The XDP fast path's time is coarse (the last tick's): never let it
	 * move a precise time of the same tick back. */
	if (now > ct->last_seen_ns)
		ct->last_seen_ns = now;
	__sync_fetch_and_add(&ct->packets[dir & 1], 1);
	__sync_fetch_and_add(&ct->bytes[dir & 1], len);
}

/* The state a TCP flow moves to when a packet with flags goes in dir. */
static __always_inline __u8 ct_tcp_next_state(struct sluice_ct_entry *ct, __u8 dir, __u8 flags)
{
	__u8 state = ct->state;

	if (flags & TCP_FLAG_RST)
		return SLUICE_CT_CLOSED;
	if (flags & TCP_FLAG_FIN) {
		__u8 seen = (ct->fin_seen | (1 << dir)) & SLUICE_CT_FIN_BOTH;

		if (seen != SLUICE_CT_FIN_BOTH) {
			ct->fin_seen = seen;
			return SLUICE_CT_FIN_WAIT;
		}
		/* The later FIN (or one sent again: not acknowledged yet). */
		ct->fin_seen = seen | (dir == SLUICE_DIR_REPLY ? SLUICE_CT_FIN_LAST_FROM_REPLY : 0);
		return SLUICE_CT_CLOSING;
	}
	if (state == SLUICE_CT_CLOSING && (flags & TCP_FLAG_ACK) && !(flags & TCP_FLAG_SYN) &&
	    (dir == SLUICE_DIR_REPLY) != !!(ct->fin_seen & SLUICE_CT_FIN_LAST_FROM_REPLY))
		ct->fin_seen |= SLUICE_CT_FIN_LAST_ACKED;
	if (state == SLUICE_CT_SYN_SENT && dir == SLUICE_DIR_REPLY &&
	    (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK))
		return SLUICE_CT_SYN_RECV;
	if (state == SLUICE_CT_SYN_RECV && dir == SLUICE_DIR_ORIGINAL && (flags & TCP_FLAG_ACK) &&
	    !(flags & TCP_FLAG_SYN))
		return SLUICE_CT_ESTABLISHED;
	return state;
}

/* A TCP flow whose close completed: FINs both ways and the later one
 * acknowledged by the other side. Only retransmissions of it may follow. */
static __always_inline int ct_tcp_closed_cleanly(const struct sluice_ct_entry *ct)
{
	return ct->state == SLUICE_CT_CLOSING && (ct->fin_seen & SLUICE_CT_FIN_LAST_ACKED);
}

/* Flag combinations no TCP stack sends (null, SYN+FIN, SYN+RST scans). */
static __always_inline int tcp_flags_invalid(__u8 flags)
{
	if (!(flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST | TCP_FLAG_FIN)))
		return 1;
	if ((flags & TCP_FLAG_SYN) && (flags & (TCP_FLAG_FIN | TCP_FLAG_RST)))
		return 1;
	return 0;
}

/* A TCP packet that opens a flow: SYN without ACK. */
static __always_inline int tcp_opens_flow(__u8 flags)
{
	return (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) == TCP_FLAG_SYN;
}

/*
 * Removes a flow whose tuple is about to start afresh, reporting it closed
 * (with its counts) when flow records are on. The record is filled before
 * the delete, which may free the entry, and sent only if this delete is
 * the one that removed it: a flow ends once.
 */
static __always_inline void ct_end(const struct sluice_ct_key *key,
				   const struct sluice_ct_entry *ct, __u64 now)
{
	struct sluice_event_closed *c = NULL;

	if (flow_events_all()) {
		c = bpf_ringbuf_reserve(&events, sizeof(*c), 0);
		if (!c)
			event_lost(SLUICE_EVENT_LOST_RING_FULL);
	}
	if (c) {
		__builtin_memset(&c->event, 0, sizeof(c->event));
		c->event.ts_ns = now;
		c->event.type = SLUICE_EVENT_CLOSED;
		__builtin_memcpy(&c->key, key, sizeof(c->key));
		__builtin_memcpy(&c->entry, ct, sizeof(c->entry));
	}
	if (ct_table_delete(key) == 0) {
		if (c)
			event_submit(&c->event);
	} else if (c) {
		bpf_ringbuf_discard(c, 0);
	}
}

/* ct_track()'s answers besides 0 (the packet belongs to no live flow):
 * CT_LIVE, or for the original direction of a flow the L7 proxy takes
 * CT_LIVE | CT_TO_PROXY with the proxy slot in the upper 16 bits. */
#define CT_LIVE 1
#define CT_TO_PROXY 2

static __always_inline __u16 ct_proxy_slot(int tracked)
{
	return (__u32)tracked >> 16;
}

/*
 * Looks the packet's flow up and, when found and still valid, accounts the
 * packet and advances its state. Returns CT_LIVE (with CT_TO_PROXY, see
 * above) for a packet of a live flow, 0 when it belongs to none (expired
 * entries and a fresh SYN on a closed flow are removed so the packet goes
 * through policy again). A global function: the verifier checks it once.
 */
__noinline int ct_track(const struct packet *pkt)
{
	struct sluice_ct_key key;
	struct sluice_ct_entry *ct;
	int src_is_a;
	__u64 now;
	__u8 dir;

	if (!pkt)
		return 0;
	src_is_a =
	    ct_make_key(&key, pkt->family, pkt->proto, pkt->src, pkt->sport, pkt->dst, pkt->dport);
	ct = ct_lookup_flow(&key);
	if (!ct)
		return 0;

	dir = ct_direction(ct, src_is_a);
	/* Expiry is in seconds: the clock as of the last tick (coarse, a few
	 * ms behind) decides it and marks the flow seen, at a fraction of the
	 * precise clock's cost (as in the XDP fast path). The flow's end is
	 * recorded with the precise time. */
	now = bpf_ktime_get_coarse_ns();
	if (ct_expired(ct, pkt->proto, now) ||
	    (pkt->proto == IPPROTO_TCP && tcp_opens_flow(pkt->tcp_flags) &&
	     ct->state >= SLUICE_CT_CLOSING)) {
		ct_end(&key, ct, bpf_ktime_get_ns());
		return 0;
	}

	if (pkt->proto == IPPROTO_TCP)
		ct->state = ct_tcp_next_state(ct, dir, pkt->tcp_flags);
	ct_account(ct, pkt->proto, dir, pkt->len, now);
	if (!ct->proxied || dir != SLUICE_DIR_ORIGINAL)
		return CT_LIVE;
	/* The proxy answers from its own socket, which tc ingress never sees:
	 * the client's first ACK is the sign of an open connection. */
	if (ct->state == SLUICE_CT_SYN_SENT && (pkt->tcp_flags & TCP_FLAG_ACK) &&
	    !(pkt->tcp_flags & TCP_FLAG_SYN))
		ct->state = SLUICE_CT_ESTABLISHED;
	return CT_LIVE | CT_TO_PROXY | ((int)ct->proxy_slot << 16);
}

/* Fills ct (and key) for a flow whose first packet policy accepted, which
 * came in by ifindex (a port forward's translation comes with the packet). */
static __always_inline void ct_init(struct sluice_ct_entry *ct, struct sluice_ct_key *key,
				    const struct packet *pkt, __u64 now, __u32 chain,
				    __u32 rule_index, __u32 ifindex)
{
	__builtin_memset(ct, 0, sizeof(*ct));
	ct->originator_is_a =
	    ct_make_key(key, pkt->family, pkt->proto, pkt->src, pkt->sport, pkt->dst, pkt->dport);
	ct->created_ns = now;
	ct->last_seen_ns = now;
	ct->packets[SLUICE_DIR_ORIGINAL] = 1;
	ct->bytes[SLUICE_DIR_ORIGINAL] = pkt->len;
	ct->rule_index = rule_index;
	ct->chain = chain;
	ct->in_ifindex = ifindex;
	if (pkt->dnat) {
		ct->nat = SLUICE_NAT_DNAT;
		__builtin_memcpy(ct->dnat_addr, pkt->orig_dst, 16);
		ct->dnat_port = pkt->orig_dport;
	}
	if (pkt->proto != IPPROTO_TCP)
		ct->state = SLUICE_CT_NEW;
	else if (tcp_opens_flow(pkt->tcp_flags))
		ct->state = SLUICE_CT_SYN_SENT;
	else
		ct->state = SLUICE_CT_ESTABLISHED; /* picked up mid-stream */
}

/* ct_create()'s answer when the flow's tuple is a live translation's. */
#define CT_TUPLE_HELD 1

/* Whether the translation t (found under key) still leads to a flow that
 * has not expired. owner: room for that flow's key. */
static __always_inline int ct_translation_live(const struct sluice_ct_key *key,
					       const struct sluice_ct_entry *t,
					       struct sluice_ct_key *owner, __u64 now)
{
	struct sluice_ct_entry *flow;

	ct_translation_owner(owner, key, t);
	flow = ct_lookup_flow(owner);
	return flow && !ct_expired(flow, key->proto, now);
}

/* Starts tracking a flow whose first packet policy accepted (see
 * ct_init). chain_slot: the chain, and for a flow the L7 proxy takes its
 * proxy slot << 8 (five arguments is all a BPF function gets). Returns 0
 * when tracked, CT_TUPLE_HELD when a live masquerade or port-forward
 * translation holds the flow's tuple (only a connection of this host's
 * own from the outside address can have one: a resolver picking its
 * source ports across the whole range); the flow is not tracked then, as
 * that would take the translation's place and hand its flow's replies to
 * this host. An entry left by an earlier life of the tuple (ended, or a
 * translation whose flow is gone) is replaced. A global function: the
 * verifier checks it once. */
__noinline int ct_create(const struct packet *pkt, __u64 now, __u32 chain_slot, __u32 rule_index,
			 __u32 ifindex)
{
	struct sluice_ct_entry ct;
	struct sluice_ct_entry *old;
	struct sluice_ct_key key, owner;
	long rc;

	if (!pkt)
		return -1;
	ct_init(&ct, &key, pkt, now, chain_slot & 0xff, rule_index, ifindex);
	ct.proxy_slot = chain_slot >> 8;
	ct.proxied = ct.proxy_slot != 0;
	rc = ct_table_update(&key, &ct, BPF_NOEXIST);
	if (rc == 0)
		return 0;
	old = ct_table_lookup(&key);
	if (old && ct_is_translation(old) && ct_translation_live(&key, old, &owner, now))
		return CT_TUPLE_HELD;
	return ct_table_update(&key, &ct, BPF_ANY) ? -1 : 0;
}

/*
 * An ICMP error is related to a tracked flow when the packet it quotes
 * belongs to that flow. Returns 1 when it does. A global function: the
 * verifier checks it once.
 */
__noinline int ct_icmp_error_related(struct __sk_buff *skb, const struct packet *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct packet inner = {};
	struct sluice_ct_key key;

	if (!pkt)
		return 0;
	if (parse_icmp_quote(data, data_end, pkt, &inner) != SLUICE_DROP_NONE)
		return 0;
	ct_make_key(&key, inner.family, inner.proto, inner.src, inner.sport, inner.dst,
		    inner.dport);
	return ct_lookup_flow(&key) != NULL;
}

#endif
