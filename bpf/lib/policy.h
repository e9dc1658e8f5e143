/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy lookup for a new flow (kernel side only). The number of lookups
 * does not depend on the number of rules: one LPM lookup per address gives
 * the rule prefixes containing it (at most SLUICE_MAX_NEST, usually one or
 * two); each (source prefix, destination prefix) pair, "any" included, is
 * one hash probe; pairs that some rule names get one decision-trie lookup
 * that returns the first matching rule for protocol and port. The lowest
 * rule index wins. See docs/policy.md.
 */
#ifndef SLUICE_LIB_POLICY_H
#define SLUICE_LIB_POLICY_H

#include "parse.h"
#include "policy_maps.h"

/* The classes containing addr on one side; depth 0 when none. */
static __always_inline void addr_classes(__u8 family, const __u8 *addr, __u32 gen, __u8 side,
					 struct sluice_class_chain *out)
{
	struct sluice_class_chain *chain;

	if (family == SLUICE_FAMILY_IPV4) {
		struct sluice_class_key4 key = { .prefixlen = 64, .gen = gen, .side = side };

		__builtin_memcpy(key.addr, addr, 4);
		chain = bpf_map_lookup_elem(&addr_class4, &key);
	} else {
		struct sluice_class_key6 key = { .prefixlen = 160, .gen = gen, .side = side };

		__builtin_memcpy(key.addr, addr, 16);
		chain = bpf_map_lookup_elem(&addr_class6, &key);
	}
	if (chain)
		*out = *chain;
	else
		out->depth = 0;
	if (out->depth > SLUICE_MAX_NEST)
		out->depth = SLUICE_MAX_NEST;
}

/* The port-like field rules match: destination port, or ICMP type/code. */
static __always_inline void policy_port(const struct packet *pkt, __u8 port[2])
{
	if (pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6) {
		port[0] = pkt->icmp_type;
		port[1] = pkt->icmp_code;
	} else {
		__builtin_memcpy(port, &pkt->dport, 2);
	}
}

struct policy_search {
	struct sluice_class_chain src;
	struct sluice_class_chain dst;
	struct sluice_decision_key key;
	struct sluice_decision best;
};

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

/* bpf_loop callback: probes pair n of the (src + any) x (dst + any) grid. */
static long policy_probe_pair(__u32 n, void *ctx)
{
	struct policy_search *s = ctx;
	__u32 width = s->dst.depth + 1;
	struct sluice_group_key gk = { .gen = s->key.gen, .chain = s->key.chain };
	struct sluice_decision *d;
	struct sluice_group *g;

	gk.src_class = chain_class(&s->src, n / width);
	gk.dst_class = chain_class(&s->dst, n % width);
	g = bpf_map_lookup_elem(&groups, &gk);
	if (!g || g->first_rule_index >= s->best.rule_index)
		return 0;
	s->key.src_class = gk.src_class;
	s->key.dst_class = gk.dst_class;
	d = bpf_map_lookup_elem(&decisions, &s->key);
	if (d && d->rule_index < s->best.rule_index)
		s->best = *d;
	return 0;
}

/*
 * First rule of chain (in generation gen) matching the packet. Returns 1 and
 * fills *out when one matches, 0 when the chain default applies.
 */
static __always_inline int policy_decide(const struct packet *pkt, __u8 chain, __u32 gen,
					 struct sluice_decision *out)
{
	struct policy_search s = {
		.key = {
			.prefixlen = SLUICE_DECISION_FIXED_BITS + 24,
			.gen = gen,
			.chain = chain,
			.proto = pkt->proto,
		},
		.best = { .rule_index = SLUICE_RULE_INDEX_DEFAULT },
	};
	__u64 pairs;

	addr_classes(pkt->family, pkt->src, gen, SLUICE_SIDE_SRC, &s.src);
	addr_classes(pkt->family, pkt->dst, gen, SLUICE_SIDE_DST, &s.dst);
	policy_port(pkt, s.key.port);
	pairs = (s.src.depth + 1) * (s.dst.depth + 1);
	/* The verifier inlines bpf_loop and compares all 64 bits of the count;
	 * clang may leave junk above bit 31. At most (8 + 1)^2 pairs. */
	asm volatile("%0 &= 0xff" : "+r"(pairs));
	bpf_loop(pairs, policy_probe_pair, &s, 0);
	*out = s.best;
	return s.best.rule_index != SLUICE_RULE_INDEX_DEFAULT;
}

static __always_inline void count_rule(__u32 gen, __u32 rule_index, __u32 len)
{
	__u32 idx = gen * SLUICE_MAX_RULES + rule_index;
	struct sluice_counter *c = bpf_map_lookup_elem(&rule_counters, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void count_default(__u32 gen, __u8 chain, __u32 len)
{
	__u32 idx = gen * SLUICE_CHAIN_COUNT + chain;
	struct sluice_counter *c = bpf_map_lookup_elem(&default_counters, &idx);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline int is_local(__u8 family, const __u8 *addr)
{
	struct sluice_local_key key = { .family = family };

	__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(&local_addrs, &key) != NULL;
}

#endif
