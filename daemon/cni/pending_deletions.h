// DELs that could not reach sluiced, kept as files until it can finish
// them: a runtime's DEL must succeed with sluiced down (it may never be
// repeated), and the container's link, addresses and programs must still
// go. sluice-cni writes one file per attachment; sluiced reads and removes
// them when it starts and before each request it serves.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sluice::cni {

inline constexpr const char* kDefaultPendingDir = "/var/lib/sluice/cni-pending";

struct PendingDeletion {
  std::string network;
  std::string container_id;
  std::string ifname;
  std::string file;  // where it was read from
};

// Records one (atomically: a reader never sees half of it). Empty on
// success, else why it could not be written.
std::string record_pending_deletion(const std::string& dir, const std::string& network,
                                    const std::string& container_id, const std::string& ifname);

// Every readable record in dir (none when dir does not exist).
std::vector<PendingDeletion> pending_deletions(const std::string& dir);

}  // namespace sluice::cni
