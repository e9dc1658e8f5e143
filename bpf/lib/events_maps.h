/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The event ring buffer and what keeps it honest (kernel side only). */
#ifndef SLUICE_LIB_EVENTS_MAPS_H
#define SLUICE_LIB_EVENTS_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice/abi.h"

/* Event records for the daemon (struct sluice_event). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_EVENT_RING_BYTES);
} events SEC(".maps");

/* Events not delivered, per enum sluice_event_loss. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_EVENT_LOSS_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} event_losses SEC(".maps");

struct event_source {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/* Drop events one source used up in the current second. */
struct event_budget {
	__u64 second;
	__u32 used;
	__u32 pad;
};

/* Per-source drop event budgets; the least recently dropping sources are
 * forgotten first. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_MAX_EVENT_SOURCES);
	__type(key, struct event_source);
	__type(value, struct event_budget);
} drop_event_budgets SEC(".maps");

#endif
