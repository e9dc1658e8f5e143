// Bounds on what sluiced accepts from a Kubernetes API server: an object,
// a page of a list, the objects of one kind in all. A server (or anything
// posing as one) cannot make sluiced hold more than this.
#pragma once

#include <cstddef>

namespace sluice::k8s {

struct Limits {
  std::size_t max_object_bytes = 2u << 20;  // one watch event line (etcd keeps up to 1.5 MiB)
  std::size_t max_page_bytes = 64u << 20;   // one response of a list
  std::size_t max_objects = 200000;         // of one resource, cluster-wide
  std::size_t page_size = 500;              // objects asked for per list page
};

}  // namespace sluice::k8s
