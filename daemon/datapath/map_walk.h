// Walking a BPF hash map from user space in chunks.
#pragma once

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "datapath/bpf_error.h"

namespace sluice::datapath {

// Calls fn(key, value) for every entry of a (non-per-CPU) hash map, read
// a few thousand at a time: one syscall per chunk instead of two per
// entry, which matters for a conntrack table of a quarter million flows.
template <typename Key, typename Value, typename Fn>
void for_each_entry(int fd, Fn&& fn) {
  constexpr std::uint32_t kChunk = 4096;
  std::vector<Key> keys(kChunk);
  std::vector<Value> values(kChunk);
  std::uint32_t token = 0;  // hash maps resume by bucket number
  bool first = true;
  for (;;) {
    std::uint32_t count = kChunk;
    int rc = bpf_map_lookup_batch(fd, first ? nullptr : &token, &token, keys.data(), values.data(),
                                  &count, nullptr);
    for (std::uint32_t i = 0; i < count && (rc == 0 || rc == -ENOENT); ++i)
      if (!fn(keys[i], values[i])) return;
    if (rc == -ENOENT) return;  // the last chunk
    if (rc != 0) throw BpfError("reading a map in batches", -rc);
    first = false;
  }
}

}  // namespace sluice::datapath
