// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attached to tc clsact ingress of every managed interface: sees packets as
 * they arrive, before routing. Decides the input chain (to an address of this
 * host) and the forward chain (anything else).
 */
#include "lib/filter.h"

SEC("tc")
int sluice_tc_ingress(struct __sk_buff *skb)
{
	return filter_packet(skb, FILTER_TC_INGRESS);
}

static long count_one(void *map, void *key, void *value, void *ctx)
{
	return 0; /* go on */
}

/* Run by the daemon (BPF_PROG_RUN) for status and metrics: walking the
 * tables here costs a fraction of copying them out. */
SEC("syscall")
int sluice_count_entries(struct sluice_table_counts *out)
{
	out->conntrack = bpf_for_each_map_elem(&conntrack, count_one, NULL, 0);
	out->nat = bpf_for_each_map_elem(&nat, count_one, NULL, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
