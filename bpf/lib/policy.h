/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy lookup for a new flow (kernel side only). Every step is a hash or
 * array lookup, and how many there are never depends on how many rules
 * there are, nor on how deeply their prefixes nest:
 *   1. the scopes of the source address: a search over the source
 *      prefix lengths present, at most SLUICE_MAX_SEARCH_STEPS probes
 *      (one or two where the address's neighbourhood is sparse);
 *   2. for each of those scopes (at most 8) and the scope of rules from
 *      "any": the destination's group, by the same search over the
 *      scope's own destination lengths;
 *   3. within each group: its rules inline when few (decided in place),
 *      else one decision probe per protocol/port shape it uses, longest
 *      first: the first hit is the group's first matching rule.
 * The lowest rule index over the scopes wins. See docs/policy.md.
 */
#ifndef SLUICE_LIB_POLICY_H
#define SLUICE_LIB_POLICY_H

#include "parse.h"
#include "policy_maps.h"
#include "stats_maps.h"

/* addr masked to its first len bits (len <= 128), into out. */
static __always_inline void mask_address(const __u8 *addr, __u32 len, __u8 *out)
{
	for (int w = 0; w < 4; w++) {
		__u32 word, bits = len > 32 * w ? len - 32 * w : 0;

		__builtin_memcpy(&word, addr + 4 * w, 4);
		if (bits == 0)
			word = 0;
		else if (bits < 32)
			word &= bpf_htonl(0xffffffffu << (32 - bits));
		__builtin_memcpy(out + 4 * w, &word, 4);
	}
}

/* Length i of a sorted length list, or -1 when i is outside it. The
 * bound is checked on the register the verifier sees: the asm keeps the
 * compiler from reusing an earlier comparison. */
static __always_inline int length_at(const struct sluice_prefix_lengths *l, int i)
{
	__u32 at = (__u32)i;

	if (i < 0 || at >= l->count)
		return -1;
	asm volatile("%0 &= 0xff" : "+r"(at));
	if (at >= SLUICE_MAX_PREFIX_LENGTHS)
		return -1;
	return l->len[at];
}

/* The index to probe at this step between lo and hi: first the shortest
 * length (past a /0, which always matches), then the middle
 * (daemon/policy/longest_match.h computes the same). */
static __always_inline int search_midpoint(int step, int lo, int hi,
					   const struct sluice_prefix_lengths *l)
{
	if (step > 0)
		return (lo + hi) >> 1;
	return length_at(l, lo) == 0 && lo < hi ? lo + 1 : lo;
}

/*
 * Longest-prefix match with hash probes: a search over the lengths present
 * (shortest first) for the longest entry of map matching addr. A hit
 * (prefix or marker) means nothing shorter can be the answer, so search
 * longer, among the lengths of the prefixes inside the hit (its span); the
 * value of the last hit is the answer. key is the map's key with all but
 * the prefix length and address filled in; prefixlen and key_addr point
 * into it; every value starts with its struct sluice_search_span. Map
 * values stay valid while the program runs: a pointer to the hit keeps the
 * stack small (XDP's call chain shares 512 bytes). NULL when nothing
 * matches.
 */
static __always_inline void *longest_match(void *map, void *key, __u8 *prefixlen, __u8 *key_addr,
					   const struct sluice_prefix_lengths *lens,
					   const __u8 *addr)
{
	void *found = NULL, *hit;
	int lo = 0, hi = (int)(lens->count & 0xff) - 1;

	for (int step = 0; step < SLUICE_MAX_SEARCH_STEPS; step++) {
		const struct sluice_search_span *below;
		int mid, len;

		if (lo > hi)
			break;
		mid = search_midpoint(step, lo, hi, lens);
		len = length_at(lens, mid);
		if (len < 0)
			break;
		*prefixlen = len;
		mask_address(addr, len, key_addr);
		hit = bpf_map_lookup_elem(map, key);
		if (hit) {
			found = hit;
			below = hit;
			lo = below->first > mid + 1 ? below->first : mid + 1;
			hi = below->last < hi ? below->last : hi;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/* The scopes of a packet's source in a context: those of its longest
 * named prefix in `from`, NULL when none contains it. */
static __always_inline const struct sluice_class_value *source_scopes(const struct packet *pkt,
								      __u32 context, __u32 gen)
{
	struct sluice_class_key key = {.gen = gen, .context = context};
	struct sluice_prefix_lengths *lens;
	__u32 slot;

	key.family = pkt->family;
	slot = sluice_source_lengths_index(gen, context, pkt->family);
	lens = bpf_map_lookup_elem(&source_lengths, &slot);
	if (!lens)
		return NULL;
	return longest_match(&source_classes, &key, &key.prefixlen, key.addr, lens, pkt->src);
}

/* What rules' port ranges are matched against: the destination port in
 * host order, or for ICMP type << 8 | code. */
static __always_inline __u16 match_port(const struct packet *pkt)
{
	if (pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6)
		return (__u16)pkt->icmp_type << 8 | pkt->icmp_code;
	return bpf_ntohs(pkt->dport);
}

/* Whether one protocol/port item matches. */
static __always_inline int item_matches(const struct sluice_inline_match *m, __u8 proto, __u16 port)
{
	return (m->proto == 0 || m->proto == proto) && port >= m->first && port <= m->last;
}

/* The group's first rule matching the packet's protocol and port, into
 * *best when it comes before what *best holds: its items in order when
 * inline, else its decisions, longest protocol/port shape first (the first
 * hit is the answer). A global function: verified once, however many
 * places decide groups; a plain loop keeps XDP's call chain short. */
__noinline int group_decide(__u32 gen, __u32 id, __u32 proto_port, struct sluice_decision *best)
{
	struct sluice_group_key gk = {.gen = gen, .id = id};
	struct sluice_decision_key key = {.gen = gen, .group = id};
	__u8 proto = proto_port >> 16;
	__u16 port = proto_port & 0xffff;
	struct sluice_decision *d;
	struct sluice_group *g;

	if (!best)
		return 0;
	g = bpf_map_lookup_elem(&groups, &gk);
	if (!g || g->first_rule_index >= best->rule_index)
		return 0;
	if (g->inline_count) {
		for (int i = 0; i < SLUICE_GROUP_INLINE; i++) {
			const struct sluice_inline_match *m = &g->inline_rules[i];

			if (i >= g->inline_count)
				break;
			if (item_matches(m, proto, port)) {
				if (m->decision.rule_index < best->rule_index)
					*best = m->decision;
				break; /* in rule order: the first match is the group's */
			}
		}
		return 0;
	}
	for (__u32 i = 0; i < SLUICE_MAX_MATCH_SHAPES; i++) {
		__u32 port_bits;
		__u16 masked = 0;
		__u8 bits;

		if (i >= g->shapes)
			break;
		bits = g->bits[i];
		key.bits = bits;
		key.proto = bits >= 8 ? proto : 0;
		port_bits = bits > 8 ? bits - 8 : 0;
		if (port_bits && port_bits <= 16)
			masked = port & (0xffff << (16 - port_bits));
		key.port[0] = masked >> 8;
		key.port[1] = masked & 0xff;
		d = bpf_map_lookup_elem(&decisions, &key);
		if (d) {
			if (d->rule_index < best->rule_index)
				*best = *d;
			break; /* the longest present shape that matches is the answer */
		}
	}
	return 0;
}

/* Decides a code and the item beside it into *best (see SLUICE_CODE_RULE). */
static __always_inline void code_decide(__u32 gen, __u32 code,
					const struct sluice_inline_match *single, __u32 proto_port,
					struct sluice_decision *best)
{
	if (code & SLUICE_CODE_RULE) {
		if (single->decision.rule_index < best->rule_index &&
		    item_matches(single, proto_port >> 16, proto_port & 0xffff))
			*best = single->decision;
	} else if (code) {
		group_decide(gen, code, proto_port, best);
	}
}

/* Whether the prefix (its address masked to len bits) contains a. */
static __always_inline int prefix_contains(const __u8 *prefix, __u32 len, const __u8 *a)
{
	for (int w = 0; w < 4; w++) {
		__u32 word, want, bits = len > 32 * w ? len - 32 * w : 0;

		if (bits == 0)
			break;
		__builtin_memcpy(&word, a + 4 * w, 4);
		__builtin_memcpy(&want, prefix + 4 * w, 4);
		if (bits < 32)
			word &= bpf_htonl(0xffffffffu << (32 - bits));
		if (word != want)
			return 0;
	}
	return 1;
}

/*
 * The first rule of one scope matching the packet, into *best when it
 * comes before what *best holds: from the scope's table (every entry
 * containing the destination), or from the code of the destination's
 * longest prefix in the scope, searched like the source.
 */
__noinline int scope_decide(const struct packet *pkt, __u32 context_gen, __u32 scope,
			    __u32 length_set, struct sluice_decision *best)
{
	__u32 context = context_gen >> 1, gen = context_gen & 1;
	struct sluice_target_key key = {.gen = gen, .context = context};
	struct sluice_prefix_lengths *lens;
	struct sluice_target *found;
	__u32 set, proto_port;

	if (!pkt || !best)
		return 0;
	proto_port = (__u32)pkt->proto << 16 | match_port(pkt);
	if (length_set == SLUICE_LENGTH_SET_TABLE) {
		struct sluice_dest_table_key tk = {
		    .gen = gen, .context = context, .family = pkt->family, .scope = scope};
		struct sluice_dest_table *t = bpf_map_lookup_elem(&dest_tables, &tk);

		if (!t)
			return 0;
		for (__u32 i = 0; i < SLUICE_TABLE_ENTRIES; i++) {
			const struct sluice_dest_table_entry *e = &t->entry[i];

			if (i >= t->count)
				break;
			if (prefix_contains(e->addr, e->prefixlen, pkt->dst))
				code_decide(gen, e->code, &e->single, proto_port, best);
		}
		return 0;
	}
	key.family = pkt->family;
	key.scope = scope;
	set = sluice_length_set_index(gen, length_set);
	lens = bpf_map_lookup_elem(&length_sets, &set);
	if (!lens)
		return 0;
	found = longest_match(&targets, &key, &key.prefixlen, key.addr, lens, pkt->dst);
	if (found)
		code_decide(gen, found->code, &found->single, proto_port, best);
	return 0;
}

/* The first rule of one context matching the packet, into *best when it
 * comes before what *best holds. */
__noinline int context_decide(const struct packet *pkt, __u32 context, __u32 gen,
			      struct sluice_decision *best)
{
	const struct sluice_class_value *source;
	__u32 slot, *any_set, context_gen = context << 1 | (gen & 1);

	if (!pkt || !best || context >= SLUICE_MAX_CONTEXTS)
		return 0;
	source = source_scopes(pkt, context, gen);
	if (source) {
		for (__u32 i = 0; i < SLUICE_MAX_SOURCE_SCOPES; i++) {
			if (i >= source->count)
				break;
			scope_decide(pkt, context_gen, source->scope[i].scope,
				     source->scope[i].length_set, best);
		}
	}
	slot = sluice_source_lengths_index(gen, context, pkt->family);
	any_set = bpf_map_lookup_elem(&any_scopes, &slot);
	if (any_set && *any_set)
		scope_decide(pkt, context_gen, SLUICE_SCOPE_ANY, *any_set, best);
	return 0;
}

/* Where a packet is judged: its chain, and the interfaces it arrived on
 * and leaves by (0: none, or not known). */
struct policy_query {
	__u32 in_ifindex;
	__u32 out_ifindex;
	__u8 chain;
	__u8 kinds; /* SLUICE_CONTEXT_* of the chain in this generation */
	__u8 pad[2];
};

/* The id rules give an interface, 0 when none names it. */
static __always_inline __u16 iface_id(__u32 gen, __u32 ifindex)
{
	struct sluice_iface_key k = {.gen = gen, .ifindex = ifindex};
	__u32 *id;

	if (!ifindex)
		return 0;
	id = bpf_map_lookup_elem(&iface_ids, &k);
	return id ? *id : 0;
}

/* The context of rules of the chain naming these interfaces, into best. */
static __always_inline void iface_context_decide(const struct packet *pkt, __u32 gen, __u8 chain,
						 __u16 in, __u16 out, struct sluice_decision *best)
{
	struct sluice_context_key k = {
	    .gen = gen, .chain = chain, .in_iface = in, .out_iface = out};
	__u32 *context = bpf_map_lookup_elem(&contexts, &k);

	if (context)
		context_decide(pkt, *context, gen, best);
}

/*
 * First rule of the query's chain (in generation gen) matching the packet.
 * Returns 1 and fills *out when one matches, 0 when the chain default
 * applies. Inlined: the contexts it looks up are global functions the
 * verifier checks once, and a frame less keeps XDP's call chain within
 * its 512 bytes of stack.
 */
static __always_inline int policy_decide(const struct packet *pkt, const struct policy_query *q,
					 __u32 gen, struct sluice_decision *out)
{
	struct sluice_decision best = {.rule_index = SLUICE_RULE_INDEX_DEFAULT};
	__u16 in = 0, out_id = 0;
	__u8 chain;

	if (!pkt || !q || !out || q->chain >= SLUICE_CHAIN_COUNT)
		return 0;
	chain = q->chain;
	context_decide(pkt, chain, gen, &best);
	if (q->kinds & (SLUICE_CONTEXT_IN | SLUICE_CONTEXT_BOTH))
		in = iface_id(gen, q->in_ifindex);
	if (q->kinds & (SLUICE_CONTEXT_OUT | SLUICE_CONTEXT_BOTH))
		out_id = iface_id(gen, q->out_ifindex);
	if (in && (q->kinds & SLUICE_CONTEXT_IN))
		iface_context_decide(pkt, gen, chain, in, 0, &best);
	if (out_id && (q->kinds & SLUICE_CONTEXT_OUT))
		iface_context_decide(pkt, gen, chain, 0, out_id, &best);
	if (in && out_id && (q->kinds & SLUICE_CONTEXT_BOTH))
		iface_context_decide(pkt, gen, chain, in, out_id, &best);
	*out = best;
	return best.rule_index != SLUICE_RULE_INDEX_DEFAULT;
}

/* What policy says about a packet that starts a flow: the first rule that
 * matches, or the chain default. */
struct policy_verdict {
	__u32 rule_index; /* SLUICE_RULE_INDEX_DEFAULT for the chain default */
	__u8 action;	  /* enum sluice_action */
	__u8 audit;	  /* only count the action, let the packet through */
	__u16 proxy_slot; /* an L7 rule's accept: the proxy listener's slot, else 0 */
};

/* Whether deciding the chain needs the interface a packet leaves by. */
static __always_inline int policy_needs_out_iface(const struct sluice_settings *cfg, __u32 gen,
						  __u8 chain)
{
	return gen < SLUICE_GENERATIONS && chain < SLUICE_CHAIN_COUNT &&
	       (cfg->context_kinds[gen][chain] & (SLUICE_CONTEXT_OUT | SLUICE_CONTEXT_BOTH));
}

/* in_ifindex, out_ifindex: the interfaces the packet arrived on and leaves
 * by, 0 for none or not known. */
static __always_inline void policy_verdict(const struct packet *pkt, __u8 chain, __u32 gen,
					   const struct sluice_settings *cfg, __u32 in_ifindex,
					   __u32 out_ifindex, struct policy_verdict *v)
{
	struct policy_query q = {
	    .in_ifindex = in_ifindex, .out_ifindex = out_ifindex, .chain = chain};
	struct sluice_decision decision;

	if (gen < SLUICE_GENERATIONS && chain < SLUICE_CHAIN_COUNT)
		q.kinds = cfg->context_kinds[gen][chain];
	if (policy_decide(pkt, &q, gen, &decision)) {
		v->rule_index = decision.rule_index;
		v->action = decision.action;
		v->audit = decision.flags & SLUICE_RULE_AUDIT;
		v->proxy_slot = 0;
		/* A slot out of range (0: none was given) finds no listener:
		 * the flow is dropped, never forwarded unchecked. */
		if (decision.flags & SLUICE_RULE_L7)
			v->proxy_slot =
			    decision.proxy_slot ? decision.proxy_slot : SLUICE_MAX_PROXY_SLOTS;
	} else {
		v->proxy_slot = 0;
		v->rule_index = SLUICE_RULE_INDEX_DEFAULT;
		v->action = cfg->chain_default[gen][chain];
		v->audit = cfg->chain_audit[gen][chain];
	}
}

/* Counts a verdict under its rule or its chain's default. */
static __always_inline void count_verdict(const struct policy_verdict *v, __u8 chain, __u32 gen,
					  __u32 len)
{
	if (v->rule_index == SLUICE_RULE_INDEX_DEFAULT)
		counter_add(&default_counters, sluice_default_counter_index(gen, chain), len);
	else
		counter_add(&rule_counters, sluice_rule_counter_index(gen, v->rule_index), len);
}

#endif
