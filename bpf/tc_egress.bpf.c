// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attached to tc clsact egress of every managed interface: sees packets as
 * they leave. Decides the output chain (from an address of this host);
 * forwarded packets were already decided at ingress and pass.
 */
#include "lib/filter.h"

SEC("tc")
int sluice_tc_egress(struct __sk_buff *skb)
{
	return filter_packet(skb, FILTER_TC_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
