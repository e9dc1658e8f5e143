/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy lookup for a new flow (kernel side only). Every step is a hash or
 * array lookup, and how many there are depends on the shapes of the rules
 * around the packet, never on how many rules there are:
 *   1. per address, one probe per prefix length named on that side,
 *      longest first, until one hits: the classes containing the address;
 *   2. one group probe per (source class, destination class) pair, "any"
 *      included: pairs no rule names stop here, and small groups carry
 *      their few rules inline and are decided right there;
 *   3. for each larger named pair, one decision probe per protocol/port
 *      shape the pair uses, longest first: the first hit is its first
 *      matching rule.
 * The lowest rule index over all pairs wins. See docs/policy.md.
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

struct class_search {
	struct sluice_class_key key;
	__u8 addr[16];
	__u32 lengths_slot;
	struct sluice_class_chain chain; /* depth 0 until found */
};

/* bpf_loop callback: probes the i-th longest prefix length. */
static long class_probe(__u32 i, void *ctx)
{
	struct class_search *s = ctx;
	struct sluice_prefix_lengths *lens;
	struct sluice_class_chain *hit;

	lens = bpf_map_lookup_elem(&prefix_lengths, &s->lengths_slot);
	if (!lens || i >= lens->count || i >= SLUICE_MAX_PREFIX_LENGTHS)
		return 1;
	asm volatile("%0 &= 0xff" : "+r"(i)); /* see struct sluice_prefix_lengths */
	s->key.prefixlen = lens->len[i];
	mask_address(s->addr, s->key.prefixlen, s->key.addr);
	hit = bpf_map_lookup_elem(&addr_classes, &s->key);
	if (!hit)
		return 0;
	s->chain = *hit;
	return 1; /* the longest match is found */
}

/* The classes containing addr on one side; depth 0 when none. */
static __always_inline void addr_classes_of(__u8 family, const __u8 *addr, __u32 gen, __u8 side,
					    struct sluice_class_chain *out)
{
	struct class_search s = {
	    .key = {.gen = gen, .side = side, .family = family},
	    .lengths_slot = sluice_prefix_lengths_index(gen, side, family),
	};

	__builtin_memcpy(s.addr, addr, 16);
	bpf_loop(SLUICE_MAX_PREFIX_LENGTHS, class_probe, &s, 0);
	*out = s.chain;
	if (out->depth > SLUICE_MAX_NEST)
		out->depth = SLUICE_MAX_NEST;
}

/* Class i of a chain, where i == depth stands for "any". */
static __always_inline __u32 chain_class(const struct sluice_class_chain *c, __u32 i)
{
	if (i >= c->depth || i >= SLUICE_MAX_NEST)
		return SLUICE_CLASS_ANY;
	/* SLUICE_MAX_NEST is a power of two; the mask bounds the stack read
	 * in the register the verifier sees. */
	asm volatile("%0 &= %1" : "+r"(i) : "i"(SLUICE_MAX_NEST - 1));
	return c->ids[i];
}

struct shape_search {
	struct sluice_decision_key key;
	__u16 port; /* host order */
	__u8 proto;
	struct sluice_group_key group; /* the group whose shapes are probed */
	struct sluice_decision found;
	int hit;
};

/* bpf_loop callback: probes the i-th longest protocol/port shape of a group. */
static long shape_probe(__u32 i, void *ctx)
{
	struct shape_search *s = ctx;
	struct sluice_decision *d;
	struct sluice_group *g;
	__u32 port_bits;
	__u16 port = 0;
	__u8 bits;

	g = bpf_map_lookup_elem(&groups, &s->group);
	if (!g || i >= g->shapes || i >= SLUICE_MAX_MATCH_SHAPES)
		return 1;
	asm volatile("%0 &= 0x1f" : "+r"(i)); /* i < 25 */
	if (i >= SLUICE_MAX_MATCH_SHAPES)
		return 1;
	bits = g->bits[i];
	s->key.bits = bits;
	s->key.proto = bits >= 8 ? s->proto : 0;
	port_bits = bits > 8 ? bits - 8 : 0;
	if (port_bits && port_bits <= 16)
		port = s->port & (0xffff << (16 - port_bits));
	s->key.port[0] = port >> 8;
	s->key.port[1] = port & 0xff;
	d = bpf_map_lookup_elem(&decisions, &s->key);
	if (!d)
		return 0;
	s->found = *d;
	s->hit = 1;
	return 1; /* the longest present shape that matches is the answer */
}

struct policy_search {
	struct sluice_class_chain src;
	struct sluice_class_chain dst;
	struct shape_search shapes;
	struct sluice_decision best;
};

/* bpf_loop callback: probes pair n of the (src + any) x (dst + any) grid. */
static long policy_probe_pair(__u32 n, void *ctx)
{
	struct policy_search *s = ctx;
	struct shape_search *sh = &s->shapes;
	__u32 width = s->dst.depth + 1;
	struct sluice_group *g;

	sh->group.src_class = chain_class(&s->src, n / width);
	sh->group.dst_class = chain_class(&s->dst, n % width);
	g = bpf_map_lookup_elem(&groups, &sh->group);
	if (!g || g->first_rule_index >= s->best.rule_index)
		return 0;
	if (g->inline_count) {
		for (int i = 0; i < SLUICE_GROUP_INLINE; i++) {
			const struct sluice_inline_match *m = &g->inline_rules[i];

			if (i >= g->inline_count)
				break;
			if ((m->proto == 0 || m->proto == sh->proto) && sh->port >= m->first &&
			    sh->port <= m->last) {
				if (m->decision.rule_index < s->best.rule_index)
					s->best = m->decision;
				break; /* in rule order: the first match is the group's */
			}
		}
		return 0;
	}
	sh->key.src_class = sh->group.src_class;
	sh->key.dst_class = sh->group.dst_class;
	sh->hit = 0;
	bpf_loop(SLUICE_MAX_MATCH_SHAPES, shape_probe, sh, 0);
	if (sh->hit && sh->found.rule_index < s->best.rule_index)
		s->best = sh->found;
	return 0;
}

/*
 * First rule of chain (in generation gen) matching the packet. Returns 1 and
 * fills *out when one matches, 0 when the chain default applies.
 * A global function: the verifier checks it once, not on every path of
 * its caller.
 */
__noinline int policy_decide(const struct packet *pkt, __u32 chain, __u32 gen,
			     struct sluice_decision *out)
{
	struct policy_search s = {
	    .shapes =
		{
		    .key = {.gen = gen, .chain = chain},
		    .group = {.gen = gen, .chain = chain},
		},
	    .best = {.rule_index = SLUICE_RULE_INDEX_DEFAULT},
	};
	__u64 pairs;

	if (!pkt || !out)
		return 0;
	s.shapes.proto = pkt->proto;
	addr_classes_of(pkt->family, pkt->src, gen, SLUICE_SIDE_SRC, &s.src);
	addr_classes_of(pkt->family, pkt->dst, gen, SLUICE_SIDE_DST, &s.dst);
	if (pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6)
		s.shapes.port = (__u16)pkt->icmp_type << 8 | pkt->icmp_code;
	else
		s.shapes.port = bpf_ntohs(pkt->dport);

	pairs = (s.src.depth + 1) * (s.dst.depth + 1);
	/* The verifier inlines bpf_loop and compares all 64 bits of the count;
	 * clang may leave junk above bit 31. At most (8 + 1)^2 pairs. */
	asm volatile("%0 &= 0xff" : "+r"(pairs));
	bpf_loop(pairs, policy_probe_pair, &s, 0);
	*out = s.best;
	return s.best.rule_index != SLUICE_RULE_INDEX_DEFAULT;
}

/* What policy says about a packet that starts a flow: the first rule that
 * matches, or the chain default. */
struct policy_verdict {
	__u32 rule_index; /* SLUICE_RULE_INDEX_DEFAULT for the chain default */
	__u8 action;	  /* enum sluice_action */
	__u8 audit;	  /* only count the action, let the packet through */
};

static __always_inline void policy_verdict(const struct packet *pkt, __u8 chain, __u32 gen,
					   const struct sluice_settings *cfg,
					   struct policy_verdict *v)
{
	struct sluice_decision decision;

	if (policy_decide(pkt, chain, gen, &decision)) {
		v->rule_index = decision.rule_index;
		v->action = decision.action;
		v->audit = decision.flags & SLUICE_RULE_AUDIT;
	} else {
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
