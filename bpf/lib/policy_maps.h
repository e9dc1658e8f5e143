/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Maps holding the compiled ruleset, written by the daemon (kernel side only). */
#ifndef SLUICE_LIB_POLICY_MAPS_H
#define SLUICE_LIB_POLICY_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* One struct sluice_settings: active generation, chain defaults. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_settings);
} settings SEC(".maps");

/* Named prefix (side, family, length, address) -> the classes it is in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_ADDR_CLASSES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_class_key);
	__type(value, struct sluice_class_chain);
} addr_classes SEC(".maps");

/* Prefix lengths present per (gen, side, family), longest first. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_PREFIX_LENGTH_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_prefix_lengths);
} prefix_lengths SEC(".maps");

/* (chain, src class, dst class) pairs that rules name -> their first rule
 * and the protocol/port shapes their decisions use. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_GROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_group_key);
	__type(value, struct sluice_group);
} groups SEC(".maps");

/* (chain, classes, protocol/port prefix) -> first matching rule. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_DECISIONS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_decision_key);
	__type(value, struct sluice_decision);
} decisions SEC(".maps");

/* Packets/bytes per rule, index sluice_rule_counter_index(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_GENERATIONS *SLUICE_MAX_RULES);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} rule_counters SEC(".maps");

/* Packets/bytes decided by a chain default, index
 * sluice_default_counter_index(). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_GENERATIONS *SLUICE_CHAIN_COUNT);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} default_counters SEC(".maps");

#endif
