/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Workload identities by address (kernel side only; see sluice/abi.h). */
#ifndef SLUICE_LIB_IDENTITY_MAPS_H
#define SLUICE_LIB_IDENTITY_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* A workload's address -> its identity. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_IDENTITY_ADDRESSES);
	__type(key, struct sluice_identity_key);
	__type(value, __u32);
} identities SEC(".maps");

/* Whether identities holds any entry: read first (an array lookup the
 * verifier inlines), so that hosts without workloads pay nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} identities_present SEC(".maps");

#endif
