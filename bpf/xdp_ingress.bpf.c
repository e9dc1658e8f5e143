// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attached at XDP on every managed interface: sees frames as the driver
 * hands them over, before an skb exists. Drops sources in the blocklist
 * (prefilter), forwards packets of established forwarded flows straight to
 * their egress interface (fast path), and passes everything else to the tc
 * programs.
 */
#include "lib/endpoint.h"
#include "lib/events.h"
#include "lib/fastpath.h"
#include "lib/parse.h"
#include "lib/prefilter_maps.h"
#include "lib/stats_maps.h"

/* Whether the longest blocklist prefix holding the source says drop. */
static __always_inline int source_blocked(const struct packet *pkt)
{
	__u8 *verdict;

	if (pkt->family == SLUICE_FAMILY_IPV4) {
		struct sluice_prefilter_key4 key = {.prefixlen = 32};

		__builtin_memcpy(key.addr, pkt->src, 4);
		verdict = bpf_map_lookup_elem(&prefilter4, &key);
	} else {
		struct sluice_prefilter_key6 key = {.prefixlen = 128};

		__builtin_memcpy(key.addr, pkt->src, 16);
		verdict = bpf_map_lookup_elem(&prefilter6, &key);
	}
	return verdict && *verdict == SLUICE_PREFILTER_DROP;
}

/* The parsed packet lives here, not on the stack: the fast path's frame
 * and policy_decide()'s must fit in 512 bytes together. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet);
} xdp_packet SEC(".maps");

SEC("xdp")
int sluice_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct packet *pkt = bpf_map_lookup_elem(&xdp_packet, &zero);

	if (!pkt)
		return XDP_PASS;
	__builtin_memset(pkt, 0, sizeof(*pkt));
	/* Malformed frames are left to tc, which counts them once. */
	if (parse_packet(data, data_end, pkt) != SLUICE_DROP_NONE || !pkt->family)
		return XDP_PASS;
	if (source_blocked(pkt)) {
		report_unjudged_drop(pkt, ctx->ingress_ifindex, data_end - data,
				     SLUICE_DROP_PREFILTER);
		return XDP_DROP;
	}
	/* A container's packets are checked against its addresses in tc:
	 * none of them skips it by the fast path. */
	if (endpoint_at(ctx->ingress_ifindex))
		return XDP_PASS;
	/* The verifier accepts ctx fields read from ctx itself only: keep the
	 * compiler from reusing the address of the field read above. */
	asm volatile("" : "+r"(ctx));
	return fastpath_forward(ctx, pkt);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
