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
 * The table has the entries sluice gives its non-TCP table on this
 * machine (24 GiB of memory; daemon/datapath/table_sizes.h), the table the
 * benchmark's UDP flows fill. What this variant costs over (x) is what
 * keeping state for each flow costs on this machine, whatever the
 * firewall around it; no tracker keeping its flows in the kernel's LRU
 * hash map forwards faster than it.
 */
#include "bench_flow.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 524288);
	__type(key, struct flow_key);
	__type(value, __u64); /* last seen, ns */
} flows SEC(".maps");

static __always_inline int track(const struct flow_key *key, __u64 now)
{
	__u64 *seen = bpf_map_lookup_elem(&flows, key);

	if (seen) {
		*seen = now;
		return 1;
	}
	return bpf_map_update_elem(&flows, key, &now, BPF_NOEXIST) == 0;
}

SEC("xdp")
int bench_tracked(struct xdp_md *ctx)
{
	return tracked_forward(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
