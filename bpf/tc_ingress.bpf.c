// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attached to tc clsact ingress of every managed interface: sees packets as
 * they arrive, before routing. Decides the input chain (to an address of this
 * host) and the forward chain (anything else).
 */
#include "lib/filter.h"

SEC("tc")
int sluice_tc_ingress(struct __sk_buff *skb)
{
	return filter_packet(skb, FILTER_TC_INGRESS);
}

/*
 * Attached to the network namespace (BPF_PROG_TYPE_SK_LOOKUP): a SYN of a
 * flow the proxy takes may still meet the TIME_WAIT socket of an earlier
 * connection with the same addresses and ports; tc assigns it that socket
 * (falling back to the listener then would lose the SYN), the kernel ends
 * the TIME_WAIT and looks for a listener, and this supplies the proxy's.
 */
SEC("sk_lookup")
int sluice_proxy_lookup(struct bpf_sk_lookup *ctx)
{
	struct sluice_ct_entry *ct;
	struct sluice_ct_key key;
	struct bpf_sock *sk;
	__u8 src[16] = {}, dst[16] = {}, family;
	__u32 slot;
	long err;

	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	if (ctx->family == 2 /* AF_INET */) {
		family = SLUICE_FAMILY_IPV4;
		__builtin_memcpy(src, &ctx->remote_ip4, 4);
		__builtin_memcpy(dst, &ctx->local_ip4, 4);
	} else {
		family = SLUICE_FAMILY_IPV6;
		__builtin_memcpy(src, ctx->remote_ip6, 16);
		__builtin_memcpy(dst, ctx->local_ip6, 16);
	}
	ct_make_key(&key, family, IPPROTO_TCP, src, (__u16)ctx->remote_port, dst,
		    bpf_htons((__u16)ctx->local_port));
	ct = ct_lookup_flow(&key);
	if (!ct || !ct->proxied)
		return SK_PASS;
	slot = sluice_proxy_key(ct->proxy_slot, family);
	sk = bpf_map_lookup_elem(&proxy_listeners, &slot);
	if (!sk)
		return SK_DROP; /* no proxy: no connection */
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	return err ? SK_DROP : SK_PASS;
}

static long count_one(void *map, void *key, void *value, void *ctx)
{
	struct sluice_table_counts *counts = ctx;

	if (ct_is_translation(value))
		counts->translations++;
	else
		counts->flows++;
	return 0; /* go on */
}

/* Run by the daemon (BPF_PROG_RUN) for status and metrics, once per table
 * (out->table): walking the table here costs a fraction of copying it out. */
SEC("syscall")
int sluice_count_entries(struct sluice_table_counts *out)
{
	struct sluice_table_counts counts = {};

	counts.table = out->table;
	if (counts.table == SLUICE_CT_TABLE_TCP)
		bpf_for_each_map_elem(&conntrack, count_one, &counts, 0);
	else
		bpf_for_each_map_elem(&conntrack_other, count_one, &counts, 0);
	*out = counts;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
