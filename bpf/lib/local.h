/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Whether an address is this host's (kernel side only): it decides the
 * chain (input, forward, output) and which packets NAT needs to look up.
 */
#ifndef SLUICE_LIB_LOCAL_H
#define SLUICE_LIB_LOCAL_H

#include "local_maps.h"

static __always_inline int is_local(__u8 family, const __u8 *addr)
{
	struct sluice_local_key key = {.family = family};

	__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(&local_addrs, &key) != NULL;
}

#endif
