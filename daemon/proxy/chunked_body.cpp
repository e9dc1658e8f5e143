#include "proxy/chunked_body.h"

#include <cctype>

namespace sluice::proxy {

namespace {

constexpr int kMaxSizeDigits = 15;  // < 2^60: no overflow, more than any body
constexpr std::size_t kMaxExtension = 1024;
constexpr std::size_t kMaxTrailers = 8192;

int hex_value(unsigned char c) {
  if (std::isdigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// One byte of a chunk's size line (Size, Extension, SizeLf). Returns
// the refusal, or nullptr.
const char* ChunkedBody::size_byte(unsigned char c) {
  switch (state_) {
    case State::Size:
      if (int v = hex_value(c); v >= 0) {
        if (++digits_ > kMaxSizeDigits) return "a chunk size with too many digits";
        size_ = size_ * 16 + static_cast<std::uint64_t>(v);
      } else if (digits_ > 0 && c == ';') {
        state_ = State::Extension;
      } else if (digits_ > 0 && c == '\r') {
        state_ = State::SizeLf;
      } else {
        return "an invalid chunk size";
      }
      return nullptr;
    case State::Extension:
      if (c == '\r') {
        state_ = State::SizeLf;
      } else if (c < 0x20 || c == 0x7f || ++extension_bytes_ > kMaxExtension) {
        return "an invalid or oversized chunk extension";
      }
      return nullptr;
    default:  // SizeLf
      if (c != '\n') return "a bare CR after a chunk size";
      remaining_ = size_;
      data_bytes_ += size_;
      state_ = size_ == 0 ? State::TrailerStart : State::Data;
      size_ = 0;
      digits_ = 0;
      extension_bytes_ = 0;
      return nullptr;
  }
}

// One byte after the last chunk: trailer lines, then the empty line.
const char* ChunkedBody::trailer_byte(unsigned char c) {
  switch (state_) {
    case State::TrailerStart:
      if (c == '\r') {
        state_ = State::EndLf;
        return nullptr;
      }
      if (c == ' ' || c == '\t') return "a folded trailer line";
      state_ = State::Trailer;
      [[fallthrough]];
    case State::Trailer:
      if (++trailer_bytes_ > kMaxTrailers) return "trailers larger than 8192 bytes";
      if (c == '\r')
        state_ = State::TrailerLf;
      else if (c < 0x20 && c != '\t')
        return "a control character in the trailers";
      return nullptr;
    case State::TrailerLf:
      if (c != '\n') return "a bare CR in the trailers";
      state_ = State::TrailerStart;
      return nullptr;
    default:  // EndLf
      if (c != '\n') return "a bare CR at the end of the body";
      state_ = State::Done;
      return nullptr;
  }
}

ChunkedBody::Step ChunkedBody::feed(std::string_view in) {
  Step step;
  std::size_t i = 0;
  while (i < in.size() && state_ != State::Done) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    const char* error = nullptr;
    switch (state_) {
      case State::Data: {
        auto take = std::min<std::uint64_t>(remaining_, in.size() - i);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::DataCr;
        continue;
      }
      case State::DataCr:
        if (c == '\n')
          error = "a bare LF after chunk data";
        else if (c != '\r')
          error = "chunk data longer than its size";
        else
          state_ = State::DataLf;
        break;
      case State::DataLf:
        if (c != '\n')
          error = "a bare CR after chunk data";
        else
          state_ = State::Size;
        break;
      case State::Size:
      case State::Extension:
      case State::SizeLf:
        error = size_byte(c);
        break;
      default:
        error = trailer_byte(c);
        break;
    }
    if (error) {
      step.error = error;
      break;
    }
    ++i;
  }
  step.consumed = i;
  step.done = state_ == State::Done;
  return step;
}

}  // namespace sluice::proxy
