// A chunked request body followed as it passes through the proxy
// unchanged: where it ends, and a refusal of anything two parsers could
// read differently (sizes with signs, spaces or too many digits, bare CR
// or LF, data longer than its size, folded trailers). RFC 9112 7.1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::proxy {

class ChunkedBody {
 public:
  struct Step {
    std::size_t consumed = 0;  // bytes of the input that belong to the body
    bool done = false;         // the body ended with the last of them
    std::string error;         // non-empty: refuse the request (400)
  };
  // Feeds the next bytes of the connection; bytes past the body's end
  // (a pipelined request) are not consumed.
  Step feed(std::string_view bytes);
  // Data bytes seen so far (chunk sizes summed), for the body limit.
  std::uint64_t data_bytes() const { return data_bytes_; }

 private:
  enum class State {
    Size,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    Trailer,
    TrailerLf,
    EndLf,
    Done
  };
  const char* size_byte(unsigned char c);
  const char* trailer_byte(unsigned char c);

  State state_ = State::Size;
  std::uint64_t size_ = 0;
  int digits_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t data_bytes_ = 0;
  std::size_t extension_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
};

}  // namespace sluice::proxy
