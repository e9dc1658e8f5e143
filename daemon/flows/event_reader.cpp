#include "flows/event_reader.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <system_error>

namespace sluice::flows {

EventReader::EventReader(int ringbuf_map_fd, Callback callback) : callback_(std::move(callback)) {
  ring_ = ring_buffer__new(ringbuf_map_fd, &EventReader::on_record, this, nullptr);
  if (!ring_) throw std::system_error(errno, std::generic_category(), "opening the event ring buffer");
}

EventReader::~EventReader() { ring_buffer__free(ring_); }

int EventReader::fd() const { return ring_buffer__epoll_fd(ring_); }

int EventReader::consume() { return ring_buffer__consume(ring_); }

int EventReader::on_record(void* ctx, void* data, std::size_t size) {
  // Records of another size come from a datapath of another version.
  if (size < sizeof(sluice_event)) return 0;
  static_cast<EventReader*>(ctx)->callback_(*static_cast<const sluice_event*>(data));
  return 0;
}

}  // namespace sluice::flows
