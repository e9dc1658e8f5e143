/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Counters every program reports into (kernel side only). */
#ifndef SLUICE_LIB_STATS_MAPS_H
#define SLUICE_LIB_STATS_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Dropped packets per enum sluice_drop_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_DROP_REASON_COUNT);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} drop_reasons SEC(".maps");

/* Packets audit mode let through, per enum sluice_audit_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_AUDIT_REASON_COUNT);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} audit_counters SEC(".maps");

/* Packets tc let through after judging them: of tracked flows, related
 * ICMP errors, and first packets policy accepted. Index 0. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} passed SEC(".maps");

/* Adds one packet of len bytes to entry index of a per-CPU counter map. */
static __always_inline void counter_add(void *map, __u32 index, __u32 len)
{
	struct sluice_counter *c = bpf_map_lookup_elem(map, &index);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void count_drop(__u32 reason, __u32 len)
{
	counter_add(&drop_reasons, reason, len);
}

#endif
