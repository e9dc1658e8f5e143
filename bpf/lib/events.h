/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow events for the daemon (kernel side only): new flows, drops and
 * rejects, audit verdicts and source translations. Every drop is counted
 * and reported through report_drop(), so the drop counters always equal
 * drop events delivered + rate limited + lost to a full ring.
 */
#ifndef SLUICE_LIB_EVENTS_H
#define SLUICE_LIB_EVENTS_H

#include "events_maps.h"
#include "identity.h"
#include "parse.h"
#include "policy_maps.h"
#include "stats_maps.h"

static __always_inline void event_lost(__u32 why)
{
	__u64 *lost = bpf_map_lookup_elem(&event_losses, &why);

	if (lost)
		(*lost)++;
}

/* A zeroed record carrying pkt's addresses, or NULL (counted) when the
 * ring is full. pkt may be NULL. */
static __always_inline struct sluice_event *event_start(__u8 type, const struct packet *pkt,
							__u32 ifindex, __u64 now)
{
	struct sluice_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		event_lost(SLUICE_EVENT_LOST_RING_FULL);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->type = type;
	e->ifindex = ifindex;
	e->rule_index = SLUICE_RULE_INDEX_DEFAULT;
	if (pkt && pkt->family) {
		e->family = pkt->family;
		e->proto = pkt->proto;
		e->sport = pkt->sport;
		e->dport = pkt->dport;
		__builtin_memcpy(e->src, pkt->src, 16);
		__builtin_memcpy(e->dst, pkt->dst, 16);
		if (identities_in_use()) {
			e->src_identity = identity_of(pkt->family, e->src);
			e->dst_identity = identity_of(pkt->family, e->dst);
		}
	}
	return e;
}

/*
 * Hands a record to the daemon without waking it, unless the ring is
 * filling up: a wake-up per record costs more than the record at high
 * rates. The daemon reads the ring at least every SLUICE_EVENT_POLL_MS
 * anyway, so a lone event waits no longer than that.
 */
static __always_inline void event_submit(struct sluice_event *e)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, waiting >= SLUICE_EVENT_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
								   : BPF_RB_NO_WAKEUP);
}

/* Whether pkt's source may report one more drop this second. Racing CPUs
 * may let a few extra through; every packet is still counted exactly once,
 * as reported or as rate limited. Not inlined: its key would otherwise
 * take room on the XDP program's crowded stack. */
static __noinline int drop_event_allowed(const struct packet *pkt, __u64 now)
{
	struct event_source key = {};
	struct event_budget *b;
	__u64 second = now / 1000000000ull;

	if (pkt && pkt->family) {
		key.family = pkt->family;
		__builtin_memcpy(key.addr, pkt->src, 16);
	}
	b = bpf_map_lookup_elem(&drop_event_budgets, &key);
	if (!b) {
		struct event_budget fresh = {.second = second, .used = 1};

		bpf_map_update_elem(&drop_event_budgets, &key, &fresh, BPF_ANY);
		return 1;
	}
	if (b->second != second) {
		b->second = second;
		b->used = 1;
		return 1;
	}
	if (b->used >= SLUICE_DROP_EVENTS_PER_SOURCE) {
		event_lost(SLUICE_EVENT_LOST_RATE_LIMITED);
		return 0;
	}
	b->used++;
	return 1;
}

/* What decided a drop: the chain and rule (policy), or nothing
 * (SLUICE_EVENT_NO_CHAIN) when the packet never reached policy. */
struct drop_origin {
	__u32 rule_index;
	__u8 chain;
	__u8 generation;
	__u8 action; /* SLUICE_ACTION_DROP or SLUICE_ACTION_REJECT */
};

/* Counts a dropped packet of len bytes under reason and reports it. pkt
 * may be only partly parsed (or NULL). */
static __always_inline void report_drop(const struct packet *pkt, __u32 ifindex, __u32 len,
					__u32 reason, const struct drop_origin *origin)
{
	struct sluice_event *e;
	__u64 now = bpf_ktime_get_ns();

	count_drop(reason, len);
	if (!drop_event_allowed(pkt, now))
		return;
	e = event_start(origin->action == SLUICE_ACTION_REJECT ? SLUICE_EVENT_REJECT
							       : SLUICE_EVENT_DROP,
			pkt, ifindex, now);
	if (!e)
		return;
	e->reason = reason;
	e->action = origin->action;
	e->chain = origin->chain;
	e->rule_index = origin->rule_index;
	e->generation = origin->generation;
	event_submit(e);
}

/* A drop before policy judged the packet. */
static __always_inline void report_unjudged_drop(const struct packet *pkt, __u32 ifindex, __u32 len,
						 __u32 reason)
{
	struct drop_origin origin = {
	    .rule_index = SLUICE_RULE_INDEX_DEFAULT,
	    .chain = SLUICE_EVENT_NO_CHAIN,
	    .action = SLUICE_ACTION_DROP,
	};

	report_drop(pkt, ifindex, len, reason, &origin);
}

/* Whether accepted flows and translations are reported ([flows] events). */
static __always_inline int flow_events_all(void)
{
	__u32 zero = 0;
	struct sluice_settings *cfg = bpf_map_lookup_elem(&settings, &zero);

	return !cfg || cfg->flow_events == SLUICE_FLOW_EVENTS_ALL;
}

/* Marks e as carrying the source a flow leaves with (masquerade). */
static __always_inline void event_set_source_nat(struct sluice_event *e, const __u8 *addr,
						 __u16 port)
{
	e->nat = SLUICE_NAT_SNAT;
	e->nat_port = port;
	__builtin_memcpy(e->nat_addr, addr, 16);
}

/* The record of a flow policy accepted (or audit let through: type AUDIT,
 * action the verdict not enforced), not yet submitted. A port-forwarded
 * flow carries the destination its client used. */
static __always_inline struct sluice_event *verdict_event(__u8 type, const struct packet *pkt,
							  __u32 ifindex, __u8 chain,
							  __u32 rule_index, __u8 generation,
							  __u8 action, __u64 now)
{
	struct sluice_event *e = event_start(type, pkt, ifindex, now);

	if (!e)
		return NULL;
	e->chain = chain;
	e->rule_index = rule_index;
	e->generation = generation;
	e->action = action;
	if (pkt->dnat) {
		e->nat = SLUICE_NAT_DNAT;
		e->nat_port = pkt->orig_dport;
		__builtin_memcpy(e->nat_addr, pkt->orig_dst, 16);
	}
	return e;
}

static __always_inline void report_verdict(__u8 type, const struct packet *pkt, __u32 ifindex,
					   __u8 chain, __u32 rule_index, __u8 generation,
					   __u8 action, __u64 now)
{
	struct sluice_event *e =
	    verdict_event(type, pkt, ifindex, chain, rule_index, generation, action, now);

	if (e)
		event_submit(e);
}

/* A forwarded flow accepted and masqueraded at once (the XDP fast path):
 * one record for both, leaving by out_ifindex with source addr:port. */
static __always_inline void report_masqueraded_flow(const struct packet *pkt, __u32 ifindex,
						    __u32 rule_index, __u8 generation,
						    __u32 out_ifindex, const __u8 *addr, __u16 port,
						    __u64 now)
{
	struct sluice_event *e =
	    verdict_event(SLUICE_EVENT_NEW_FLOW, pkt, ifindex, SLUICE_CHAIN_FORWARD, rule_index,
			  generation, SLUICE_ACTION_ACCEPT, now);

	if (!e)
		return;
	event_set_source_nat(e, addr, port);
	e->out_ifindex = out_ifindex;
	event_submit(e);
}

/* A flow leaving by ifindex was given source addr:port (masquerade). */
static __always_inline void report_source_nat(const struct packet *pkt, __u32 ifindex,
					      const __u8 *addr, __u16 port)
{
	struct sluice_event *e;

	if (!flow_events_all())
		return;
	e = event_start(SLUICE_EVENT_NAT, pkt, ifindex, bpf_ktime_get_ns());
	if (!e)
		return;
	e->chain = SLUICE_CHAIN_FORWARD;
	event_set_source_nat(e, addr, port);
	event_submit(e);
}

#endif
