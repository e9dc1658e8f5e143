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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
