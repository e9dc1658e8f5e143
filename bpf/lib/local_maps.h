/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The addresses of this host (kernel side only). */
#ifndef SLUICE_LIB_LOCAL_MAPS_H
#define SLUICE_LIB_LOCAL_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Addresses owned by this host; present = local. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_LOCAL_ADDRS);
	__type(key, struct sluice_local_key);
	__type(value, __u8);
} local_addrs SEC(".maps");

#endif
