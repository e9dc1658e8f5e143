/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The XDP fast path's maps (kernel side only). */
#ifndef SLUICE_LIB_FASTPATH_MAPS_H
#define SLUICE_LIB_FASTPATH_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Egress interfaces the fast path may send to, by ifindex. Not pinned:
 * the daemon fills it on every start (see Datapath::pin_all). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, SLUICE_MAX_FAST_INTERFACES);
	__type(key, __u32);
	__type(value, __u32);
} fast_ports SEC(".maps");

/* What the fast path did, enum sluice_fastpath_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_FAST_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} fastpath_counters SEC(".maps");

/* The fast path's larger locals: its stack frame and policy_decide()'s
 * must fit in 512 bytes together. */
struct fast_scratch {
	struct bpf_fib_lookup fib;
	struct sluice_ct_key key;
	struct sluice_ct_entry ct; /* a new flow's entry, complete before it is inserted */
	__be32 old[4], new[4];	   /* an address being replaced, for checksums */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fast_scratch);
} fast_scratch SEC(".maps");

#endif
