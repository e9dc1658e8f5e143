/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The stateful filter both tc programs run (kernel side only): parse, NAT,
 * conntrack, and policy for packets that start a flow. Returns a TC_ACT_*.
 */
#ifndef SLUICE_LIB_FILTER_H
#define SLUICE_LIB_FILTER_H

#include <linux/pkt_cls.h>
#include "parse.h"
#include "conntrack.h"
#include "endpoint.h"
#include "local.h"
#include "policy.h"
#include "nat.h"
#include "proxy.h"
#include "reject.h"
#include "route.h"
#include "stats_maps.h"
#include "events.h"

/* Bytes of headers we want linear for what reads past the transport
 * header: room for an ICMP error quoting a packet with options. */
#define FILTER_PULL_LEN 256

enum filter_hook {
	FILTER_TC_INGRESS = 0,
	FILTER_TC_EGRESS = 1,
};

/* A drop before policy: counted and reported. */
static __always_inline int filter_drop(struct __sk_buff *skb, const struct packet *pkt,
				       __u32 reason, __u32 len)
{
	report_unjudged_drop(pkt, skb->ifindex, len, reason);
	return TC_ACT_SHOT;
}

/* Policy's drop or reject. A reject is counted once: under the policy
 * reason when answered, under REJECT_FAILED (as a drop) when no answer
 * could be built. */
static __always_inline int filter_deny(struct __sk_buff *skb, const struct packet *pkt,
				       enum filter_hook hook, __u32 reason,
				       struct drop_origin *origin)
{
	if (origin->action == SLUICE_ACTION_REJECT) {
		if (reject_rewrite(skb, pkt)) {
			origin->action = SLUICE_ACTION_DROP;
			reason = SLUICE_DROP_REJECT_FAILED;
		} else {
			report_drop(pkt, skb->ifindex, pkt->len, reason, origin);
			/* The answer goes back the way the packet came. */
			return bpf_redirect(skb->ifindex,
					    hook == FILTER_TC_EGRESS ? BPF_F_INGRESS : 0);
		}
	}
	report_drop(pkt, skb->ifindex, pkt->len, reason, origin);
	return TC_ACT_SHOT;
}

/* A judged packet goes on: counted. */
static __always_inline int filter_pass(__u32 len)
{
	counter_add(&passed, 0, len);
	return TC_ACT_OK;
}

/*
 * The first packet of a flow an L7 rule accepted: handed to the proxy and
 * tracked as its flow, or dropped when there is no proxy (fail closed;
 * the next packet, a retransmission, tries again).
 */
static __always_inline int filter_to_proxy(struct __sk_buff *skb, struct packet *pkt, __u8 chain,
					   const struct policy_verdict *v, __u32 gen,
					   const struct sluice_settings *cfg)
{
	struct drop_origin origin;
	__u64 now = bpf_ktime_get_ns();

	if (proxy_steer(skb, pkt, v->proxy_slot) == 0) {
		if (!(pkt->tcp_flags & TCP_FLAG_RST) &&
		    ct_create(pkt, now, chain | (__u32)v->proxy_slot << 8, v->rule_index,
			      skb->ifindex) == 0) {
			nat_remember_port_forward(pkt);
			if (cfg->flow_events == SLUICE_FLOW_EVENTS_ALL)
				report_verdict(SLUICE_EVENT_NEW_FLOW, pkt, skb->ifindex, chain,
					       v->rule_index, gen, SLUICE_ACTION_ACCEPT, now);
		}
		return filter_pass(pkt->len);
	}
	origin.rule_index = v->rule_index;
	origin.chain = chain;
	origin.generation = gen;
	origin.action = SLUICE_ACTION_DROP;
	report_drop(pkt, skb->ifindex, pkt->len, SLUICE_DROP_PROXY_UNAVAILABLE, &origin);
	return TC_ACT_SHOT;
}

/*
 * The first packet of a flow policy accepted: tracked (and recorded), or
 * dropped when it is this host's with a live translation's tuple (as if
 * lost: the translated flow keeps its answers; see ct_create). Errors and resets are answers, not
 * the start of a flow: passed untracked.
 */
static __always_inline int filter_accept(struct __sk_buff *skb, struct packet *pkt, __u8 chain,
					 const struct policy_verdict *v, __u32 gen,
					 const struct sluice_settings *cfg, __u64 now)
{
	int created;

	if ((pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & TCP_FLAG_RST)) ||
	    (is_icmp(pkt->proto) && icmp_is_error(pkt->proto, pkt->icmp_type)))
		return filter_pass(pkt->len);
	created = ct_create(pkt, now, chain, v->rule_index, skb->ifindex);
	if (created == CT_TUPLE_HELD)
		return filter_drop(skb, pkt, SLUICE_DROP_NAT_FAILED, pkt->len);
	if (created == 0) {
		nat_remember_port_forward(pkt);
		if (!v->audit && cfg->flow_events == SLUICE_FLOW_EVENTS_ALL)
			report_verdict(SLUICE_EVENT_NEW_FLOW, pkt, skb->ifindex, chain,
				       v->rule_index, gen, SLUICE_ACTION_ACCEPT, now);
	}
	return filter_pass(pkt->len);
}

/*
 * Conntrack and policy for a packet in chain. NAT already gave it the
 * addresses the inside sees.
 */
static __always_inline int filter_decide(struct __sk_buff *skb, struct packet *pkt,
					 enum filter_hook hook, __u8 chain)
{
	struct policy_verdict v;
	struct drop_origin origin;
	struct sluice_settings *cfg;
	__u32 zero = 0, gen, reason, in_ifindex, out_ifindex = 0;
	__u64 now;
	int tracked;

	if (pkt->proto == IPPROTO_TCP && tcp_flags_invalid(pkt->tcp_flags))
		return filter_drop(skb, pkt, SLUICE_DROP_CT_INVALID, pkt->len);

	tracked = ct_track(pkt);
	if (tracked & CT_TO_PROXY && hook == FILTER_TC_INGRESS) {
		if (proxy_steer(skb, pkt, ct_proxy_slot(tracked)))
			return filter_drop(skb, pkt, SLUICE_DROP_PROXY_UNAVAILABLE, pkt->len);
		return filter_pass(pkt->len);
	}
	if (tracked)
		return filter_pass(pkt->len);
	if (is_icmp(pkt->proto) && icmp_is_error(pkt->proto, pkt->icmp_type) &&
	    ct_icmp_error_related(skb, pkt))
		return filter_pass(pkt->len);

	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg)
		return TC_ACT_SHOT;
	gen = cfg->active_gen & 1;
	now = bpf_ktime_get_ns(); /* a new flow's, for its records: precise */

	/* The interfaces rules may name: arrived on (input, forward), leaves by
	 * (output; forward when the ruleset names one, from the routing table). */
	in_ifindex = chain == SLUICE_CHAIN_OUTPUT ? 0 : skb->ifindex;
	if (chain == SLUICE_CHAIN_OUTPUT)
		out_ifindex = skb->ifindex;
	else if (chain == SLUICE_CHAIN_FORWARD && policy_needs_out_iface(cfg, gen, chain))
		out_ifindex = route_out_ifindex(skb, pkt);
	policy_verdict(pkt, chain, gen, cfg, in_ifindex, out_ifindex, &v);
	count_verdict(&v, chain, gen, pkt->len);
	reason = v.rule_index == SLUICE_RULE_INDEX_DEFAULT ? SLUICE_DROP_POLICY_DEFAULT
							   : SLUICE_DROP_POLICY_RULE;

	/* Audit mode: the verdict is counted, the packet goes through and its
	 * flow is tracked as if accepted. */
	if (v.audit && v.action != SLUICE_ACTION_ACCEPT) {
		counter_add(&audit_counters,
			    v.rule_index == SLUICE_RULE_INDEX_DEFAULT ? SLUICE_AUDIT_DEFAULT_DROP
			    : v.action == SLUICE_ACTION_REJECT	      ? SLUICE_AUDIT_RULE_REJECT
								      : SLUICE_AUDIT_RULE_DROP,
			    pkt->len);
		report_verdict(SLUICE_EVENT_AUDIT, pkt, skb->ifindex, chain, v.rule_index, gen,
			       v.action, now);
		v.action = SLUICE_ACTION_ACCEPT;
	}

	if (v.action == SLUICE_ACTION_ACCEPT && v.proxy_slot && hook == FILTER_TC_INGRESS)
		return filter_to_proxy(skb, pkt, chain, &v, gen, cfg);
	if (v.action == SLUICE_ACTION_ACCEPT)
		return filter_accept(skb, pkt, chain, &v, gen, cfg, now);
	origin.rule_index = v.rule_index;
	origin.chain = chain;
	origin.generation = gen;
	origin.action = v.action;
	return filter_deny(skb, pkt, hook, reason, &origin);
}

/*
 * Whether the packet needs more of itself linear than it has: its headers
 * did not fit in the linear part, or it is one whose checks read past the
 * transport header (ARP and neighbour discovery bodies, the packet an ICMP
 * error quotes). A TCP or UDP packet parsed whole needs nothing more.
 * Pulling is not free: a segment a local TCP stack sent (this host's, or a
 * container's through its veth) is a clone that its sender keeps for
 * retransmission, and pulling makes it a copy of its own.
 */
static __always_inline int filter_wants_pull(const struct __sk_buff *skb, int linear, __u32 reason,
					     const struct packet *pkt)
{
	if (linear >= FILTER_PULL_LEN || linear >= (int)skb->len)
		return 0; /* as much as we ever want, or all there is */
	return reason == SLUICE_DROP_TRUNCATED || !pkt->family || is_icmp(pkt->proto);
}

static __always_inline int filter_packet(struct __sk_buff *skb, enum filter_hook hook)
{
	const struct sluice_endpoint *ep;
	struct packet pkt = {};
	void *data, *data_end;
	__u32 reason;
	int verdict;

	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	reason = parse_packet(data, data_end, &pkt);
	if (filter_wants_pull(skb, data_end - data, reason, &pkt)) {
		bpf_skb_pull_data(skb, skb->len < FILTER_PULL_LEN ? skb->len : FILTER_PULL_LEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		__builtin_memset(&pkt, 0, sizeof(pkt));
		reason = parse_packet(data, data_end, &pkt);
	}
	if (reason != SLUICE_DROP_NONE)
		return filter_drop(skb, &pkt, reason, skb->len);
	/* Frames from a container's host end claim its link-layer identity:
	 * ARP and neighbour discovery only about its own addresses. */
	ep = hook == FILTER_TC_INGRESS ? endpoint_at(skb->ifindex) : NULL;
	if (!pkt.family) {
		if (ep && !endpoint_link_frame_ok(ep, data, data_end))
			return filter_drop(skb, &pkt, SLUICE_DROP_SPOOFED, skb->len);
		return TC_ACT_OK;
	}
	/* Like ARP for IPv4, neighbour discovery is not ours to judge: without
	 * it no IPv6 traffic flows at all. */
	if (icmp6_is_neighbour_discovery(pkt.proto, pkt.icmp_type)) {
		if (ep && !endpoint_neighbour_ok(ep, data, data_end, &pkt))
			return filter_drop(skb, &pkt, SLUICE_DROP_SPOOFED, skb->len);
		return TC_ACT_OK;
	}
	pkt.len = skb->len;
	if (pkt.later_fragment)
		return filter_drop(skb, &pkt, SLUICE_DROP_FRAGMENT, pkt.len);

	if (hook == FILTER_TC_INGRESS) {
		/* At tc ingress the device is the one the packet arrived on. */
		if (ep && !endpoint_source_ok(ep, data, data_end, &pkt))
			return filter_drop(skb, &pkt, SLUICE_DROP_SPOOFED, pkt.len);
		reason = nat_ingress(skb, &pkt);
		if (reason != SLUICE_DROP_NONE)
			return filter_drop(skb, &pkt, reason, pkt.len);
		return filter_decide(skb, &pkt, hook,
				     is_local(pkt.family, pkt.dst) ? SLUICE_CHAIN_INPUT
								   : SLUICE_CHAIN_FORWARD);
	}

	/* Forwarded packets were judged when they came in; leaving, they only
	 * get their source translated. */
	if (!is_local(pkt.family, pkt.src)) {
		reason = nat_egress(skb, &pkt);
		return reason == SLUICE_DROP_NONE ? TC_ACT_OK
						  : filter_drop(skb, &pkt, reason, pkt.len);
	}
	verdict = filter_decide(skb, &pkt, hook, SLUICE_CHAIN_OUTPUT);
	/* This host's own ICMP errors about translated flows. */
	if (verdict == TC_ACT_OK && is_icmp(pkt.proto) && icmp_is_error(pkt.proto, pkt.icmp_type)) {
		reason = nat_egress(skb, &pkt);
		if (reason != SLUICE_DROP_NONE)
			return filter_drop(skb, &pkt, reason, pkt.len);
	}
	return verdict;
}

#endif
