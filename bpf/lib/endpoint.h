/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Containers wired by sluice-cni (kernel side only): a packet arriving on
 * a container's host end must come from that container (anti-spoofing).
 */
#ifndef SLUICE_LIB_ENDPOINT_H
#define SLUICE_LIB_ENDPOINT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice/abi.h"
#include "parse.h"

/* ifindex of a container's host end -> what its packets come from. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct sluice_endpoint);
} endpoints SEC(".maps");

/* Whether endpoints holds any entry: read first (an array lookup the
 * verifier inlines), so that hosts without containers pay no hash lookup
 * per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} endpoints_present SEC(".maps");

static __always_inline const struct sluice_endpoint *endpoint_at(__u32 ifindex)
{
	__u32 zero = 0, *present = bpf_map_lookup_elem(&endpoints_present, &zero);

	if (!present || !*present)
		return NULL;
	return bpf_map_lookup_elem(&endpoints, &ifindex);
}

/* Whether a packet that arrived from the endpoint carries its own source
 * MAC and address. IPv6 link-local sources stay on the link, so they are
 * the endpoint's business. */
static __always_inline int endpoint_source_ok(const struct sluice_endpoint *ep, const void *frame,
					      const void *frame_end, const struct packet *pkt)
{
	const __u8 *eth = frame;

	if (eth + 12 > (const __u8 *)frame_end)
		return 0;
	for (int i = 0; i < 6; i++)
		if (eth[6 + i] != ep->mac[i])
			return 0;
	if (pkt->family == SLUICE_FAMILY_IPV4) {
		if (!(ep->families & SLUICE_ENDPOINT_IPV4))
			return 0;
		for (int i = 0; i < 4; i++)
			if (pkt->src[i] != ep->addr4[i])
				return 0;
		return 1;
	}
	if (pkt->src[0] == 0xfe && (pkt->src[1] & 0xc0) == 0x80)
		return 1;
	if (!(ep->families & SLUICE_ENDPOINT_IPV6))
		return 0;
	for (int i = 0; i < 16; i++)
		if (pkt->src[i] != ep->addr6[i])
			return 0;
	return 1;
}

/* Whether a frame that is not IP (ARP and the rest) that arrived from the
 * endpoint is its own: its source MAC and, for ARP, the sender MAC and
 * IPv4 address (0.0.0.0 too: a probe). ARP could otherwise claim another
 * container's address on this link. */
static __always_inline int endpoint_link_frame_ok(const struct sluice_endpoint *ep,
						  const void *frame, const void *frame_end)
{
	const __u8 *eth = frame, *arp = (const __u8 *)frame + 14;
	int zero = 1;

	if (eth + 14 > (const __u8 *)frame_end)
		return 0;
	for (int i = 0; i < 6; i++)
		if (eth[6 + i] != ep->mac[i])
			return 0;
	if (eth[12] != 0x08 || eth[13] != 0x06)
		return 1;
	/* htype 1, ptype IPv4, hlen 6, plen 4, then sha (8..13), spa (14..17) */
	if (arp + 28 > (const __u8 *)frame_end || arp[2] != 0x08 || arp[3] != 0x00 || arp[4] != 6 ||
	    arp[5] != 4)
		return 0;
	for (int i = 0; i < 6; i++)
		if (arp[8 + i] != ep->mac[i])
			return 0;
	for (int i = 0; i < 4; i++)
		zero &= arp[14 + i] == 0;
	if (zero)
		return 1;
	if (!(ep->families & SLUICE_ENDPOINT_IPV4))
		return 0;
	for (int i = 0; i < 4; i++)
		if (arp[14 + i] != ep->addr4[i])
			return 0;
	return 1;
}

/* Neighbour discovery from the endpoint: its own MAC and source (a
 * solicitation for duplicate address detection comes from ::), and an
 * advertisement only about its own addresses (the target: its address or
 * a link-local one). */
static __always_inline int endpoint_neighbour_ok(const struct sluice_endpoint *ep,
						 const void *frame, const void *frame_end,
						 const struct packet *pkt)
{
	const __u8 *target = (const __u8 *)frame + pkt->l4_off + 8;
	int unspecified = 1;

	for (int i = 0; i < 16; i++)
		unspecified &= pkt->src[i] == 0;
	if (!(unspecified && pkt->icmp_type == 135) &&
	    !endpoint_source_ok(ep, frame, frame_end, pkt))
		return 0;
	if (unspecified) { /* the MAC, which endpoint_source_ok checks otherwise */
		const __u8 *eth = frame;

		if (eth + 12 > (const __u8 *)frame_end)
			return 0;
		for (int i = 0; i < 6; i++)
			if (eth[6 + i] != ep->mac[i])
				return 0;
	}
	if (pkt->icmp_type != 136)
		return 1;
	if (pkt->l4_off > 512 || target + 16 > (const __u8 *)frame_end)
		return 0;
	if (target[0] == 0xfe && (target[1] & 0xc0) == 0x80)
		return 1;
	if (!(ep->families & SLUICE_ENDPOINT_IPV6))
		return 0;
	for (int i = 0; i < 16; i++)
		if (target[i] != ep->addr6[i])
			return 0;
	return 1;
}

#endif
