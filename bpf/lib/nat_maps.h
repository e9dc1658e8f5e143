/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NAT tables (kernel side only). Translations themselves live in the
 * conntrack table: see SLUICE_NAT_TRANSLATION in abi.h. */
#ifndef SLUICE_LIB_NAT_MAPS_H
#define SLUICE_LIB_NAT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"
#include "parse.h"

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

/* Room for nat_allocate()'s keys: the BPF stack (512 bytes for all
 * frames together) is too small to hold them next to the filter's. */
struct nat_scratch {
	struct sluice_ct_entry translation; /* being made */
	struct sluice_ct_key key;	    /* a translation's */
	struct sluice_ct_key flow;	    /* the flow it is for */
	struct sluice_ct_key owner;	    /* the flow an existing one is for */
	struct packet inner;		    /* the packet an ICMP error quotes */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat_scratch);
} nat_scratch SEC(".maps");

#endif
