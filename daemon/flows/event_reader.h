// Reads the datapath's event ring buffer (struct sluice_event records).
// Its fd goes into the daemon's poll loop; consume() hands each waiting
// record to the callback.
#pragma once

#include <cstdint>
#include <functional>

#include "sluice/abi.h"

struct ring_buffer;

namespace sluice::flows {

class EventReader {
 public:
  // A SLUICE_EVENT_CLOSED event is handed over only whole: the callback
  // may read it as the struct sluice_event_closed it starts.
  using Callback = std::function<void(const sluice_event&)>;

  // Throws std::system_error when the ring buffer cannot be opened.
  EventReader(int ringbuf_map_fd, Callback callback);
  ~EventReader();
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  int fd() const;  // readable when records wait
  // Hands at most max waiting records to the callback: records handed
  // over, or -errno. Bounded so a flood cannot hold the caller for long.
  int consume(std::size_t max = SIZE_MAX);

 private:
  static int on_record(void* ctx, void* data, std::size_t size);

  Callback callback_;
  ring_buffer* ring_ = nullptr;
  std::size_t max_ = 0;
  std::size_t taken_ = 0;
};

}  // namespace sluice::flows
