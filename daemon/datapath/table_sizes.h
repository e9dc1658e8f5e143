// How many flows the connection tracking table holds when the
// configuration does not say ([conntrack] entries = "auto"): a share of
// the host's memory, the way netfilter sizes nf_conntrack_max.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::datapath {

// Bytes the kernel charges per tracked flow: its conntrack entry and the
// room for two NAT entries (`sluicectl status`, MEMORY, of full tables:
// about 208 and 168 bytes).
inline constexpr std::size_t kBytesPerFlow = 560;
// The NAT table has this many entries per conntrack entry.
inline constexpr std::size_t kNatEntriesPerFlow = 2;

// 1% of memory, rounded down to a power of two, from 65,536 to 4,194,304
// flows (36 MiB to 2.2 GiB).
std::size_t conntrack_entries_for_memory(std::uint64_t memory_bytes);

// The host's physical memory.
std::uint64_t host_memory_bytes();

}  // namespace sluice::datapath
