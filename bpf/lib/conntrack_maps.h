/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The connection tracking tables (kernel side only). */
#ifndef SLUICE_LIB_CONNTRACK_MAPS_H
#define SLUICE_LIB_CONNTRACK_MAPS_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Normalised 5-tuple -> flow state, or a translation leading to a flow
 * (SLUICE_NAT_TRANSLATION); least recently used entries are evicted. TCP
 * flows have a table of their own: a flood of UDP or ICMP flows (a scan,
 * a reflection attack) evicts its own kind, never a TCP connection. A
 * translation shares its flow's protocol, so its table. Both are sized at
 * load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_CONNTRACK);
	__type(key, struct sluice_ct_key);
	__type(value, struct sluice_ct_entry);
} conntrack SEC(".maps"); /* TCP */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_CONNTRACK);
	__type(key, struct sluice_ct_key);
	__type(value, struct sluice_ct_entry);
} conntrack_other SEC(".maps"); /* UDP, ICMP and the rest */

/* The table a key belongs in; each call site names both maps, so that the
 * verifier sees a known map at each (and inlines the lookups). */
static __always_inline struct sluice_ct_entry *ct_table_lookup(const struct sluice_ct_key *key)
{
	if (key->proto == IPPROTO_TCP)
		return bpf_map_lookup_elem(&conntrack, key);
	return bpf_map_lookup_elem(&conntrack_other, key);
}

static __always_inline long ct_table_update(const struct sluice_ct_key *key,
					    const struct sluice_ct_entry *value, __u64 flags)
{
	if (key->proto == IPPROTO_TCP)
		return bpf_map_update_elem(&conntrack, key, value, flags);
	return bpf_map_update_elem(&conntrack_other, key, value, flags);
}

static __always_inline long ct_table_delete(const struct sluice_ct_key *key)
{
	if (key->proto == IPPROTO_TCP)
		return bpf_map_delete_elem(&conntrack, key);
	return bpf_map_delete_elem(&conntrack_other, key);
}

#endif
