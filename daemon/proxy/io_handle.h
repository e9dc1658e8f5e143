// What an epoll event's data points at in the proxy's loops: which kind of
// descriptor it is and the object that handles it. A handle must outlive
// every event already reported for it in the current round of epoll_wait:
// handles that change hands mid-round are retired and freed after it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace sluice::proxy {

struct IoHandle {
  enum class Kind {
    Listener,  // owner: the worker's listener entry
    Control,   // the coordinator's channel to sluiced
    Wakeup,    // an eventfd
    Client,    // owner: the Connection
    Upstream,  // owner: the Connection using the server connection
    Pooled,    // owner: the UpstreamPool holding the idle server connection
  } kind;
  void* owner = nullptr;
  std::uint16_t slot = 0;
};

// Handles let go of during a round, freed after it.
using RetiredHandles = std::vector<std::unique_ptr<IoHandle>>;

}  // namespace sluice::proxy
