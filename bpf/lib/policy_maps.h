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

/* (chain, in interface, out interface) -> context id, for the contexts of
 * rules naming interfaces. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_GENERATIONS *SLUICE_MAX_CONTEXTS);
	__type(key, struct sluice_context_key);
	__type(value, __u32);
} contexts SEC(".maps");

/* (gen, ifindex) -> id of an interface rules name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sluice_iface_key);
	__type(value, __u32);
} iface_ids SEC(".maps");

/* Named source prefix or search marker (context, family, length, address)
 * -> the scopes of the longest named prefix containing it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_CLASS_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_class_key);
	__type(value, struct sluice_class_value);
} source_classes SEC(".maps");

/* Source prefix lengths present per (gen, context, family), shortest first. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_SOURCE_LENGTH_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_prefix_lengths);
} source_lengths SEC(".maps");

/* The length set of the scope of rules from "any", per (gen, context,
 * family): index sluice_source_lengths_index(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_SOURCE_LENGTH_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} any_scopes SEC(".maps");

/* Destination prefix lengths of scopes, shortest first, shared; index
 * sluice_length_set_index(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_LENGTH_SETS);
	__type(key, __u32);
	__type(value, struct sluice_prefix_lengths);
} length_sets SEC(".maps");

/* (scope, destination prefix or marker) -> the code of its rules. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_TARGETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_target_key);
	__type(value, struct sluice_target);
} targets SEC(".maps");

/* (context, family, scope) -> the destination table of a small scope. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_DEST_TABLES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_dest_table_key);
	__type(value, struct sluice_dest_table);
} dest_tables SEC(".maps");

/* Group id -> its first rule and its rules inline, or the protocol/port
 * shapes its decisions use. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_GROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_group_key);
	__type(value, struct sluice_group);
} groups SEC(".maps");

/* (group, protocol/port prefix) -> first matching rule. */
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
