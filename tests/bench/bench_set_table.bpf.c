// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The forwarding benchmark's second stateful ceiling: as
 * bench_tracked.bpf.c (find or make the flow's entry, note the time,
 * forward), with a flow table of the program's own instead of the
 * kernel's LRU hash map. The table is an array of buckets; a flow's hash
 * picks its bucket, and the flow lives in one of the bucket's four ways.
 * A lookup reads one bucket (two cache lines), without a lock. An insert
 * takes the bucket's lock, looks again, and takes an empty way or evicts
 * the way seen longest ago: eviction stays inside the bucket, with no
 * global list to walk or lock to share, which is where the LRU map spends
 * most of a new flow's time (docs/benchmarks.md).
 *
 * Same number of entries as bench_tracked's table. What it shows is what a
 * connection tracker built on such a table could reach here; sluice's
 * tables are the kernel's LRU hash maps.
 */
#include "bench_flow.bpf.h"

#define WAYS 4
#define BUCKETS (524288 / WAYS)

struct way {
	__u64 key[2]; /* a struct flow_key; all zero: empty */
	__u64 last_seen;
	__u64 pad;
};

struct bucket {
	struct bpf_spin_lock lock;
	__u32 pad[15];
	struct way way[WAYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BUCKETS);
	__type(key, __u32);
	__type(value, struct bucket);
} flows SEC(".maps");

/* A 64-bit mix of the key (multiply, xor-shift): its high bits pick the
 * bucket. */
static __always_inline __u32 bucket_of(const __u64 *k)
{
	__u64 h = (k[0] ^ (k[1] * 0x9E3779B97F4A7C15ull)) * 0xC2B2AE3D27D4EB4Full;

	h ^= h >> 29;
	return (__u32)(h >> 32) % BUCKETS;
}

static __always_inline int track(const struct flow_key *key, __u64 now)
{
	const __u64 *k = (const __u64 *)key;
	__u32 idx = bucket_of(k);
	__u64 oldest = ~0ull;
	struct bucket *b = bpf_map_lookup_elem(&flows, &idx);
	int victim = 0, found = 0;

	if (!b)
		return 0;
	for (int i = 0; i < WAYS; i++) {
		if (b->way[i].key[0] == k[0] && b->way[i].key[1] == k[1]) {
			b->way[i].last_seen = now;
			return 1;
		}
	}
	bpf_spin_lock(&b->lock);
	for (int i = 0; i < WAYS; i++) {
		if (b->way[i].key[0] == k[0] && b->way[i].key[1] == k[1]) {
			found = 1; /* another CPU made it meanwhile */
			break;
		}
		if (b->way[i].last_seen < oldest) {
			oldest = b->way[i].last_seen;
			victim = i;
		}
	}
	if (!found) {
		victim &= WAYS - 1;
		b->way[victim].key[0] = k[0];
		b->way[victim].key[1] = k[1];
		b->way[victim].last_seen = now;
	}
	bpf_spin_unlock(&b->lock);
	return 1;
}

SEC("xdp")
int bench_set_table(struct xdp_md *ctx)
{
	return tracked_forward(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
