// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The forwarding benchmark's stateful ceiling: bench_forward.bpf.c plus
 * the least any connection tracker does per packet, and nothing more.
 * Each packet's flow is looked up in an LRU hash table (a compact IPv4
 * 5-tuple key) and its entry notes when it was last seen; a packet of an
 * unknown flow inserts its entry, evicting the least recently used one
 * once the table is full. No policy, no translation, no counters, no
 * records, no TCP states.
 *
 * The table has the entries sluice gives its non-TCP table on a host with
 * 24-47 GiB of memory (daemon/datapath/table_sizes.h), the table the
 * benchmark's UDP flows fill. What this variant costs over (x) is what
 * keeping state for each flow costs on this machine, whatever the
 * firewall around it; no tracker keeping its flows in a BPF hash table
 * forwards faster than it.
 */
#include <linux/in.h>
#include <linux/udp.h>
#include "bench_forward.bpf.h"

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 524288);
	__type(key, struct flow_key);
	__type(value, __u64); /* last seen, ns */
} flows SEC(".maps");

/* Finds (or makes) the packet's flow entry and notes the time; 0 when it
 * could not. */
static __always_inline int track(const struct iphdr *ip, const struct udphdr *ports)
{
	struct flow_key key = {
	    .saddr = ip->saddr,
	    .daddr = ip->daddr,
	    .sport = ports->source,
	    .dport = ports->dest,
	    .proto = ip->protocol,
	};
	__u64 now = bpf_ktime_get_ns();
	__u64 *seen = bpf_map_lookup_elem(&flows, &key);

	if (seen) {
		*seen = now;
		return 1;
	}
	return bpf_map_update_elem(&flows, &key, &now, BPF_NOEXIST) == 0;
}

SEC("xdp")
int bench_tracked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	/* TCP and UDP both start with the two ports. */
	struct udphdr *ports = (void *)(ip + 1);

	if ((void *)(ports + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP) || ip->ttl <= 1)
		return XDP_PASS;
	if (!track(ip, ports))
		return XDP_PASS;
	return forward_ipv4(ctx, eth, ip);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
