// How many entries the connection tracking tables hold when the
// configuration does not say ([conntrack] entries and other_entries =
// "auto"): the TCP table a share of the host's memory, the way netfilter
// sizes nf_conntrack_max, the table of other protocols half of that
// (their flows are short, and a flood of them should not take the memory
// TCP connections need). A flow takes one entry, its masquerade or
// port-forward translation another.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::datapath {

// Bytes the kernel charges per conntrack entry (`sluicectl status`,
// MEMORY, of a full table: about 208).
inline constexpr std::size_t kBytesPerEntry = 208;

// 1% of memory, rounded down to a power of two, from 131,072 to 8,388,608
// entries (26 MiB to 1.7 GiB): 65,536 to 4,194,304 masqueraded flows.
std::size_t conntrack_entries_for_memory(std::uint64_t memory_bytes);

// The table of protocols other than TCP: half the TCP table's entries,
// no fewer than 1,024.
std::size_t conntrack_other_entries_for(std::size_t tcp_entries);

// The host's physical memory.
std::uint64_t host_memory_bytes();

}  // namespace sluice::datapath
