#include "flows/event_reader.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <system_error>

namespace sluice::flows {

EventReader::EventReader(int ringbuf_map_fd, Callback callback) : callback_(std::move(callback)) {
  ring_ = ring_buffer__new(ringbuf_map_fd, &EventReader::on_record, this, nullptr);
  if (!ring_)
    throw std::system_error(errno, std::generic_category(), "opening the event ring buffer");
}

EventReader::~EventReader() { ring_buffer__free(ring_); }

int EventReader::fd() const { return ring_buffer__epoll_fd(ring_); }

int EventReader::consume(std::size_t max) {
  max_ = max;
  taken_ = 0;
  int rc = ring_buffer__consume(ring_);
  // The callback stops the walk with -EAGAIN once max records are taken;
  // the rest wait for the next call.
  if (rc == -EAGAIN) return static_cast<int>(taken_);
  return rc < 0 ? rc : static_cast<int>(taken_);
}

int EventReader::on_record(void* ctx, void* data, std::size_t size) {
  auto* self = static_cast<EventReader*>(ctx);
  // Records of another size come from a datapath of another version.
  const auto* e = static_cast<const sluice_event*>(data);
  if (size >= sizeof(sluice_event) &&
      (e->type != SLUICE_EVENT_CLOSED || size >= sizeof(sluice_event_closed)))
    self->callback_(*e);
  // libbpf counts this record as consumed even when we stop here.
  return ++self->taken_ >= self->max_ ? -EAGAIN : 0;
}

}  // namespace sluice::flows
