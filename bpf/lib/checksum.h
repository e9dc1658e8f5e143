/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksums in frames the programs write themselves (kernel side
 * only). Where an skb is at hand, bpf_l3/l4_csum_replace do the same work
 * and tc uses them; XDP and the answers reject builds use these.
 */
#ifndef SLUICE_LIB_CHECKSUM_H
#define SLUICE_LIB_CHECKSUM_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* The ones' complement of a 32-bit partial sum folded to 16 bits: the
 * value a checksum field holds. */
static __always_inline __u16 csum_fold(__s64 sum)
{
	__u32 s = (__u32)sum;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Incremental update (RFC 1624) of *csum for n bytes (a multiple of 4)
 * changing from from to to. */
static __always_inline void csum_update(__u16 *csum, __be32 *from, __be32 *to, __u32 n)
{
	*csum = csum_fold(bpf_csum_diff(from, n, to, n, (__u16) ~*csum));
}

/* The IPv4 header checksum after the TTL, the high byte of its 16-bit
 * word, went down by one: an addition in ones' complement. */
static __always_inline __u16 csum_after_ttl_decrement(__u16 check)
{
	__u32 sum = check;

	sum += bpf_htons(0x0100);
	return (__u16)(sum + (sum >= 0xffff));
}

#endif
