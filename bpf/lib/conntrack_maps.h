/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The connection tracking table (kernel side only). */
#ifndef SLUICE_LIB_CONNTRACK_MAPS_H
#define SLUICE_LIB_CONNTRACK_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Normalised 5-tuple -> flow state, or a translation leading to a flow
 * (SLUICE_NAT_TRANSLATION); least recently used entries are evicted. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_CONNTRACK);
	__type(key, struct sluice_ct_key);
	__type(value, struct sluice_ct_entry);
} conntrack SEC(".maps");

#endif
