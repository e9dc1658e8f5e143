// How the watch of the Kubernetes API server is doing, per collection, as
// `sluicectl status` shows it: what the daemon's loop copies from the
// watch (k8s::ClusterWatch) once a second, so that the service does not
// reach into the watch's threads. docs/kubernetes.md.
#pragma once

#include <cstdint>
#include <string>

namespace sluice::service {

struct WatchedCollection {
  std::string path;     // "/api/v1/pods"
  bool listed = false;  // listed in full at least once
  std::uint64_t objects = 0;
  std::uint64_t lists = 0;           // list requests answered
  std::uint64_t events = 0;          // watch events taken
  std::uint64_t relists_gone = 0;    // lists started over on 410 Gone
  std::uint64_t rejected = 0;        // objects or events that could not be read
  std::string last_problem;          // "" when none yet
  std::int64_t last_problem_ms = 0;  // when (Unix ms); 0 when none
};

}  // namespace sluice::service
