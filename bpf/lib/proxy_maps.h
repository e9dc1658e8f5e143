/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The L7 proxy's listening sockets (kernel side only). */
#ifndef SLUICE_LIB_PROXY_MAPS_H
#define SLUICE_LIB_PROXY_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Proxy slot -> the listener of that L7 rule. An entry goes away by
 * itself when its socket closes (the proxy died): its flows are dropped. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 2 * SLUICE_MAX_PROXY_SLOTS); /* sluice_proxy_key() */
	__type(key, __u32);
	__type(value, __u64);
} proxy_listeners SEC(".maps");

#endif
