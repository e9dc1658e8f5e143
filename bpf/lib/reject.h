/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Answers for rules with action "reject" (tc programs only): the packet is
 * rewritten in place into a TCP RST (for TCP) or an ICMP/ICMPv6 port
 * unreachable quoting it (for everything else) and sent back where it came
 * from. The layer 2 header (with any VLAN tags) is kept, MACs swapped.
 *
 * Contract: reject_rewrite() returns 0 when the skb now holds the answer, or
 * a negative value when it could not be built (the caller drops).
 */
#ifndef SLUICE_LIB_REJECT_H
#define SLUICE_LIB_REJECT_H

#include "checksum.h"
#include "parse.h"

#define REJECT_TTL 64
#define ICMP_QUOTE6_LEN 48 /* IPv6 header + 8 bytes of what follows */

static __always_inline int swap_macs(struct __sk_buff *skb)
{
	__u8 macs[12], swapped[12];

	if (bpf_skb_load_bytes(skb, 0, macs, 12))
		return -1;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	return bpf_skb_store_bytes(skb, 0, swapped, 12, 0);
}

struct pseudo6 {
	__u8 src[16];
	__u8 dst[16];
	__be32 len;
	__u8 zero[3];
	__u8 next;
};

struct pseudo4 {
	__be32 src;
	__be32 dst;
	__u8 zero;
	__u8 proto;
	__be16 len;
};

/* Writes an IPv4 or IPv6 header answering pkt at pkt->l3_off; returns the
 * partial checksum of the pseudo-header for the transport checksum. */
static __always_inline int write_reply_ip(struct __sk_buff *skb, const struct packet *pkt,
					  __u8 proto, __u16 payload_len, __u32 *pseudo_sum)
{
	if (pkt->family == SLUICE_FAMILY_IPV4) {
		struct iphdr ip = {
		    .version = 4,
		    .ihl = 5,
		    .tot_len = bpf_htons(sizeof(struct iphdr) + payload_len),
		    .ttl = REJECT_TTL,
		    .protocol = proto,
		};
		struct pseudo4 ph = {.proto = proto, .len = bpf_htons(payload_len)};

		__builtin_memcpy(&ip.saddr, pkt->dst, 4);
		__builtin_memcpy(&ip.daddr, pkt->src, 4);
		ip.check = csum_fold(bpf_csum_diff(NULL, 0, (__be32 *)&ip, sizeof(ip), 0));
		ph.src = ip.saddr;
		ph.dst = ip.daddr;
		*pseudo_sum = proto == IPPROTO_ICMP
				  ? 0
				  : bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
		return bpf_skb_store_bytes(skb, pkt->l3_off, &ip, sizeof(ip), 0);
	} else {
		struct ipv6hdr ip6 = {
		    .version = 6,
		    .payload_len = bpf_htons(payload_len),
		    .nexthdr = proto,
		    .hop_limit = REJECT_TTL,
		};
		struct pseudo6 ph = {.len = bpf_htonl(payload_len), .next = proto};

		__builtin_memcpy(&ip6.saddr, pkt->dst, 16);
		__builtin_memcpy(&ip6.daddr, pkt->src, 16);
		__builtin_memcpy(ph.src, pkt->dst, 16);
		__builtin_memcpy(ph.dst, pkt->src, 16);
		*pseudo_sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
		return bpf_skb_store_bytes(skb, pkt->l3_off, &ip6, sizeof(ip6), 0);
	}
}

static __always_inline __u32 ip_header_len(const struct packet *pkt)
{
	return pkt->family == SLUICE_FAMILY_IPV4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/* RST answering a TCP segment: seq from its ACK, or ACK of what it sent. */
static __always_inline int reject_tcp(struct __sk_buff *skb, const struct packet *pkt)
{
	struct tcphdr in, out = {};
	__u32 l4_out = pkt->l3_off + ip_header_len(pkt);
	__u32 seg_len, pseudo_sum;

	if (bpf_skb_load_bytes(skb, pkt->l4_off, &in, sizeof(in)))
		return -1;
	if (in.rst)
		return -1; /* never answer a RST with a RST */

	seg_len = skb->len - pkt->l4_off - in.doff * 4;
	if (seg_len > 0xffff)
		seg_len = 0;
	out.source = in.dest;
	out.dest = in.source;
	out.doff = 5;
	out.rst = 1;
	if (in.ack) {
		out.seq = in.ack_seq;
	} else {
		out.ack = 1;
		out.ack_seq = bpf_htonl(bpf_ntohl(in.seq) + seg_len + in.syn + in.fin);
	}

	if (bpf_skb_change_tail(skb, l4_out + sizeof(out), 0))
		return -1;
	if (write_reply_ip(skb, pkt, IPPROTO_TCP, sizeof(out), &pseudo_sum))
		return -1;
	out.check = csum_fold(bpf_csum_diff(NULL, 0, (__be32 *)&out, sizeof(out), pseudo_sum));
	if (bpf_skb_store_bytes(skb, l4_out, &out, sizeof(out), 0))
		return -1;
	return swap_macs(skb);
}

/* ICMP(v6) port unreachable quoting the rejected packet's IP header and
 * the first 8 bytes after it (RFC 792; for IPv6 the first 48 bytes). */
static __always_inline int reject_icmp(struct __sk_buff *skb, const struct packet *pkt)
{
	__u8 quote[60 + 8] = {};
	struct icmphdr icmp = {};
	__u32 quote_len, l4_out, pseudo_sum = 0, sum;
	__u8 proto;

	if (pkt->family == SLUICE_FAMILY_IPV4) {
		quote_len = (pkt->l4_off - pkt->l3_off + 8) & 0x7f; /* bounded for the verifier */
		if (quote_len < 28 || quote_len > sizeof(quote))
			return -1;
		icmp.type = ICMP_DEST_UNREACH;
		icmp.code = ICMP_PORT_UNREACH;
		proto = IPPROTO_ICMP;
	} else {
		quote_len = ICMP_QUOTE6_LEN;
		icmp.type = ICMPV6_DEST_UNREACH;
		icmp.code = ICMPV6_PORT_UNREACH;
		proto = IPPROTO_ICMPV6;
	}
	if (pkt->l3_off + quote_len > skb->len)
		return -1;
	if (bpf_skb_load_bytes(skb, pkt->l3_off, quote, quote_len))
		return -1;

	l4_out = pkt->l3_off + ip_header_len(pkt);
	if (bpf_skb_change_tail(skb, l4_out + sizeof(icmp) + quote_len, 0))
		return -1;
	if (write_reply_ip(skb, pkt, proto, sizeof(icmp) + quote_len, &pseudo_sum))
		return -1;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&icmp, sizeof(icmp), pseudo_sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, quote_len, sum);
	icmp.checksum = csum_fold(sum);
	if (bpf_skb_store_bytes(skb, l4_out, &icmp, sizeof(icmp), 0) ||
	    bpf_skb_store_bytes(skb, l4_out + sizeof(icmp), quote, quote_len, 0))
		return -1;
	return swap_macs(skb);
}

/* A global function: the verifier checks it once. */
__noinline int reject_rewrite(struct __sk_buff *skb, const struct packet *pkt)
{
	if (!pkt)
		return -1;
	if (pkt->proto == IPPROTO_TCP)
		return reject_tcp(skb, pkt);
	/* Never answer an ICMP error with an ICMP error (RFC 1122 3.2.2). */
	if ((pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6) &&
	    icmp_is_error(pkt->proto, pkt->icmp_type))
		return -1;
	return reject_icmp(skb, pkt);
}

#endif
