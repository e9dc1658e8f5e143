/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NAT tables (kernel side only); see struct sluice_nat_key in abi.h. */
#ifndef SLUICE_LIB_NAT_MAPS_H
#define SLUICE_LIB_NAT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Tuples arriving from outside -> the translation they get. LRU: live
 * translations are used by every packet coming back and stay. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_NAT);
	__type(key, struct sluice_nat_key);
	__type(value, struct sluice_nat_entry);
} nat SEC(".maps");

/* The masquerade address of each managed interface, per family. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_NAT_INTERFACES);
	__type(key, struct sluice_iface_addr_key);
	__type(value, struct sluice_iface_addr);
} iface_addrs SEC(".maps");

/* Which sources are masqueraded out of which interface. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_MAX_MASQUERADE_SOURCES);
	__type(key, struct sluice_masq_source_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} masq_sources SEC(".maps");

/* Port forwards by public address, protocol and port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_PORT_FORWARDS);
	__type(key, struct sluice_port_forward_key);
	__type(value, struct sluice_port_forward);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} port_forwards SEC(".maps");

/* Translations made, per enum sluice_nat_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_NAT_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} nat_counters SEC(".maps");

/* The key of a tuple as it arrives. */
static __always_inline void nat_key_of(struct sluice_nat_key *key, __u8 family, __u8 proto,
				       const __u8 *src, __u16 sport, const __u8 *dst, __u16 dport)
{
	__builtin_memset(key, 0, sizeof(*key));
	__builtin_memcpy(key->src, src, 16);
	__builtin_memcpy(key->dst, dst, 16);
	key->sport = sport;
	key->dport = dport;
	key->proto = proto;
	key->family = family;
}

/* Room for nat_allocate()'s keys: the BPF stack (512 bytes for all
 * frames together) is too small to hold them next to the filter's. */
struct nat_scratch {
	struct sluice_nat_entry entry;
	struct sluice_nat_key key;
	struct sluice_ct_key own;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_scratch);
} nat_scratch SEC(".maps");

#endif
