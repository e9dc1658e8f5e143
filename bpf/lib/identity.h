/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The workload identity of an address (kernel side only). */
#ifndef SLUICE_LIB_IDENTITY_H
#define SLUICE_LIB_IDENTITY_H

#include "identity_maps.h"

static __always_inline int identities_in_use(void)
{
	__u32 zero = 0, *present = bpf_map_lookup_elem(&identities_present, &zero);

	return present && *present;
}

/* SLUICE_IDENTITY_NONE when addr is no workload's. A function of its own:
 * its key lives on its own stack frame, not on the XDP program's. */
static __noinline __u32 identity_of(__u8 family, const __u8 *addr)
{
	struct sluice_identity_key key = {.family = family};
	__u32 *id;

	if (!addr)
		return SLUICE_IDENTITY_NONE;
	__builtin_memcpy(key.addr, addr, 16);
	id = bpf_map_lookup_elem(&identities, &key);
	return id ? *id : SLUICE_IDENTITY_NONE;
}

#endif
