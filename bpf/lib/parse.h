/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounded packet parser shared by the XDP and tc programs (kernel side only).
 *
 * Contract: parse_packet() reads Ethernet, up to SLUICE_MAX_VLAN_TAGS VLAN
 * tags, IPv4 (options skipped) or IPv6 (up to SLUICE_MAX_IPV6_EXT_HEADERS
 * extension headers) and the TCP/UDP/ICMP/ICMPv6 header. It returns
 * SLUICE_DROP_NONE and fills *pkt, or the drop reason for a packet that is
 * truncated or malformed. Non-IP frames are reported with pkt->family == 0.
 * Every read is checked against data_end first: no undefined reads.
 */
#ifndef SLUICE_LIB_PARSE_H
#define SLUICE_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sluice/abi.h"

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define IPV6_EXT_HOP 0
#define IPV6_EXT_ROUTING 43
#define IPV6_EXT_FRAGMENT 44
#define IPV6_EXT_AH 51
#define IPV6_EXT_DSTOPTS 60
#define IP_OFFSET_MASK 0x1fff
#define IP_MORE_FRAGMENTS 0x2000

/* linux/icmp.h drags in libc socket headers that the BPF target lacks. */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_PORT_UNREACH 3

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
	} un;
};

struct vlan_tag {
	__be16 tci;
	__be16 inner_proto;
};

/* The fields policy and conntrack need, addresses and ports in network order. */
struct packet {
	__u32 l3_off; /* from the start of the frame */
	__u32 l4_off;
	__u32 len;	     /* frame length */
	__u8 family;	     /* enum sluice_family, 0 for non-IP */
	__u8 proto;	     /* IPPROTO_* of the transport header */
	__u8 tcp_flags;	     /* FIN/SYN/RST/PSH/ACK/URG bits, TCP only */
	__u8 later_fragment; /* non-first fragment: no transport header */
	__u8 src[16];
	__u8 dst[16];
	__u16 sport; /* ICMP: echo id, or 0 */
	__u16 dport; /* ICMP: echo id, or 0 */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 ttl;
	__u8 quoted; /* inside an ICMP error: only 8 L4 bytes present */
	/* Set by NAT when a port forward rewrote the destination of a new
	 * flow: what the sender addressed. */
	__u8 dnat;
	__u8 pad;
	__u16 orig_dport;
	__u8 orig_dst[16];
};

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

static __always_inline int is_icmp(__u8 proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

static __always_inline int icmp_is_echo(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

/* IPv6 neighbour discovery (router/neighbour solicitation and
 * advertisement, redirect): IPv6's ARP, which must keep working whatever
 * the rules say. */
static __always_inline int icmp6_is_neighbour_discovery(__u8 proto, __u8 type)
{
	return proto == IPPROTO_ICMPV6 && type >= 133 && type <= 137;
}

/* ICMP error messages that quote the packet they are about. */
static __always_inline int icmp_is_error(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB || type == ICMP_SOURCE_QUENCH;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED || type == ICMPV6_PARAMPROB;
}

/* Reads the transport header at off. Returns a drop reason. */
static __always_inline int parse_l4(void *data, void *data_end, __u32 off, struct packet *pkt)
{
	pkt->l4_off = off;
	if (pkt->later_fragment)
		return SLUICE_DROP_NONE;

	if (pkt->proto == IPPROTO_TCP && pkt->quoted) {
		struct udphdr *ports = data + off; /* ports sit where UDP's do */

		if ((void *)(ports + 1) > data_end)
			return SLUICE_DROP_TRUNCATED;
		pkt->sport = ports->source;
		pkt->dport = ports->dest;
	} else if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + off;

		if ((void *)(tcp + 1) > data_end)
			return SLUICE_DROP_TRUNCATED;
		if (tcp->doff < 5)
			return SLUICE_DROP_MALFORMED;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
	} else if (pkt->proto == IPPROTO_UDP || pkt->proto == IPPROTO_SCTP) {
		/* SCTP's common header starts with the ports as UDP's does
		 * (Kubernetes NetworkPolicy matches SCTP ports). */
		struct udphdr *udp = data + off;

		if ((void *)(udp + 1) > data_end)
			return SLUICE_DROP_TRUNCATED;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
	} else if (pkt->proto == IPPROTO_ICMP || pkt->proto == IPPROTO_ICMPV6) {
		struct icmphdr *icmp = data + off; /* same first 8 bytes in v6 */

		if ((void *)(icmp + 1) > data_end)
			return SLUICE_DROP_TRUNCATED;
		if ((pkt->proto == IPPROTO_ICMP) != (pkt->family == SLUICE_FAMILY_IPV4))
			return SLUICE_DROP_MALFORMED;
		pkt->icmp_type = icmp->type;
		pkt->icmp_code = icmp->code;
		if (icmp_is_echo(pkt->proto, icmp->type)) {
			pkt->sport = icmp->un.echo.id;
			pkt->dport = icmp->un.echo.id;
		}
	}
	return SLUICE_DROP_NONE;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off, struct packet *pkt)
{
	struct iphdr *ip = data + off;
	__u32 hdr_len;

	if ((void *)(ip + 1) > data_end)
		return SLUICE_DROP_TRUNCATED;
	if (ip->version != 4 || ip->ihl < 5)
		return SLUICE_DROP_MALFORMED;
	hdr_len = ip->ihl * 4;
	if (bpf_ntohs(ip->tot_len) < hdr_len)
		return SLUICE_DROP_MALFORMED;
	if (data + off + hdr_len > data_end)
		return SLUICE_DROP_TRUNCATED;

	pkt->family = SLUICE_FAMILY_IPV4;
	pkt->l3_off = off;
	pkt->proto = ip->protocol;
	pkt->ttl = ip->ttl;
	pkt->later_fragment = (bpf_ntohs(ip->frag_off) & IP_OFFSET_MASK) != 0;
	__builtin_memcpy(pkt->src, &ip->saddr, 4);
	__builtin_memcpy(pkt->dst, &ip->daddr, 4);
	return parse_l4(data, data_end, off + hdr_len, pkt);
}

struct ipv6_opt_hdr_min {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ipv6_frag_hdr_min {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

static __always_inline int parse_ipv6(void *data, void *data_end, __u32 off, struct packet *pkt)
{
	struct ipv6hdr *ip6 = data + off;
	__u8 next;

	if ((void *)(ip6 + 1) > data_end)
		return SLUICE_DROP_TRUNCATED;
	if (ip6->version != 6)
		return SLUICE_DROP_MALFORMED;

	pkt->family = SLUICE_FAMILY_IPV6;
	pkt->l3_off = off;
	pkt->ttl = ip6->hop_limit;
	__builtin_memcpy(pkt->src, &ip6->saddr, 16);
	__builtin_memcpy(pkt->dst, &ip6->daddr, 16);
	next = ip6->nexthdr;
	off += sizeof(*ip6);

	for (int i = 0; i < SLUICE_MAX_IPV6_EXT_HEADERS; i++) {
		if (next == IPV6_EXT_HOP || next == IPV6_EXT_ROUTING || next == IPV6_EXT_DSTOPTS) {
			struct ipv6_opt_hdr_min *h = data + off;

			if ((void *)(h + 1) > data_end)
				return SLUICE_DROP_TRUNCATED;
			next = h->nexthdr;
			off += (h->hdrlen + 1) * 8;
		} else if (next == IPV6_EXT_AH) {
			struct ipv6_opt_hdr_min *h = data + off;

			if ((void *)(h + 1) > data_end)
				return SLUICE_DROP_TRUNCATED;
			next = h->nexthdr;
			off += (h->hdrlen + 2) * 4;
		} else if (next == IPV6_EXT_FRAGMENT) {
			struct ipv6_frag_hdr_min *h = data + off;

			if ((void *)(h + 1) > data_end)
				return SLUICE_DROP_TRUNCATED;
			next = h->nexthdr;
			if (bpf_ntohs(h->frag_off) & 0xfff8)
				pkt->later_fragment = 1;
			off += sizeof(*h);
		} else {
			pkt->proto = next;
			return parse_l4(data, data_end, off, pkt);
		}
	}
	return SLUICE_DROP_UNSUPPORTED;
}

static __always_inline int parse_packet(void *data, void *data_end, struct packet *pkt)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__be16 proto;

	pkt->len = data_end - data;
	if ((void *)(eth + 1) > data_end)
		return SLUICE_DROP_TRUNCATED;
	proto = eth->h_proto;

	for (int i = 0; i < SLUICE_MAX_VLAN_TAGS; i++) {
		struct vlan_tag *tag = data + off;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > data_end)
			return SLUICE_DROP_TRUNCATED;
		proto = tag->inner_proto;
		off += sizeof(*tag);
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return SLUICE_DROP_UNSUPPORTED;

	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, off, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, off, pkt);
	return SLUICE_DROP_NONE; /* ARP and friends are not ours to judge */
}

/*
 * The packet quoted inside an ICMP error: its addresses, protocol and ports,
 * as the original sender put them. Returns a drop reason.
 */
static __always_inline int parse_icmp_quote(void *data, void *data_end, const struct packet *outer,
					    struct packet *inner)
{
	__u32 off = outer->l4_off + 8;

	inner->quoted = 1;
	if (off > 511)
		return SLUICE_DROP_UNSUPPORTED;
	/* Re-bound the offset in the register the verifier tracks: clang may
	 * otherwise add an unchecked copy to the packet pointer. */
	asm volatile("%0 &= 0x1ff" : "+r"(off));
	if (outer->family == SLUICE_FAMILY_IPV4)
		return parse_ipv4(data, data_end, off, inner);
	return parse_ipv6(data, data_end, off, inner);
}

#endif /* SLUICE_LIB_PARSE_H */
