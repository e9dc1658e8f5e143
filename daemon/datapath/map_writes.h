// Writing and deleting many map entries with as few syscalls as the
// kernel allows (datapath internals).
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <string>
#include <vector>

#include "datapath/bpf_error.h"
#include "sluice/abi.h"

namespace sluice::datapath {

inline void update(int fd, const void* key, const void* value, const char* what) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0)
    throw BpfError(std::string("writing ") + what, errno);
}

// The kernel's "operation not supported" for map types without batch ops;
// not in the user-space errno headers.
inline constexpr int kKernelENOTSUPP = 524;

// Writes many entries with as few syscalls as the kernel allows: one
// BPF_MAP_UPDATE_BATCH, or one update per entry where batching is not
// supported for the map type.
template <typename Key, typename Value>
void update_all(int fd, const std::vector<Key>& keys, const std::vector<Value>& values,
                const char* what) {
  if (keys.empty()) return;
  __u32 count = static_cast<__u32>(keys.size());
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, nullptr) == 0) return;
  if (errno != EINVAL && errno != kKernelENOTSUPP && errno != EOPNOTSUPP)
    throw BpfError(std::string("writing ") + what + " (batch)", errno);
  for (std::size_t i = count; i < keys.size(); ++i) update(fd, &keys[i], &values[i], what);
}

// Deletes the keys, batched where the kernel can; missing keys are fine.
template <typename Key>
void delete_all(int fd, const std::vector<Key>& keys) {
  if (keys.empty()) return;
  __u32 count = static_cast<__u32>(keys.size());
  if (bpf_map_delete_batch(fd, keys.data(), &count, nullptr) == 0) return;
  // A batch stops at the first missing key; finish one by one.
  for (std::size_t i = count; i < keys.size(); ++i) bpf_map_delete_elem(fd, &keys[i]);
}

// Sets count per-CPU counters starting at first to zero, in one syscall.
inline void zero_percpu(int fd, std::uint32_t first, std::uint32_t count) {
  if (count == 0) return;
  auto ncpu = static_cast<std::size_t>(libbpf_num_possible_cpus());
  std::vector<std::uint32_t> keys(count);
  for (std::uint32_t i = 0; i < count; ++i) keys[i] = first + i;
  std::vector<sluice_counter> zeros(count * ncpu);
  __u32 n = count;
  check(bpf_map_update_batch(fd, keys.data(), zeros.data(), &n, nullptr), "zeroing counters");
}

}  // namespace sluice::datapath
