/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Source blocklist dropped at XDP before anything else (kernel side only). */
#ifndef SLUICE_LIB_PREFILTER_MAPS_H
#define SLUICE_LIB_PREFILTER_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Blocked IPv4 source prefixes -> enum sluice_prefilter_verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_MAX_PREFILTER);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_prefilter_key4);
	__type(value, __u8);
} prefilter4 SEC(".maps");

/* Blocked IPv6 source prefixes -> enum sluice_prefilter_verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_MAX_PREFILTER);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_prefilter_key6);
	__type(value, __u8);
} prefilter6 SEC(".maps");

#endif
