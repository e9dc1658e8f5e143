// The proxy's parsers on arbitrary client bytes: a request head, the
// chunked body after it and a TLS ClientHello. None may crash or read
// past the input; a complete head consumed within the input; a chunked
// body never claims more bytes than it was given; a head split anywhere
// parses to the same answer as whole (parsing is stateless).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/chunked_body.h"
#include "proxy/client_hello.h"
#include "proxy/request_head.h"

using namespace sluice::proxy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  HeadLimits limits{.max_request_line = 512, .max_header_bytes = 2048, .max_headers = 20};
  auto head = parse_request_head(in, limits);
  if (head.state == HeadParse::State::Complete) {
    if (head.consumed == 0 || head.consumed > size) __builtin_trap();
    if (head.head.chunked && head.head.content_length) __builtin_trap();
    // Fewer bytes: still waiting, or the same refusal earlier.
    auto part = parse_request_head(in.substr(0, head.consumed - 1), limits);
    if (part.state == HeadParse::State::Complete) __builtin_trap();
    ChunkedBody body;
    auto rest = in.substr(head.consumed);
    std::size_t taken = 0;
    while (taken < rest.size()) {
      auto step = body.feed(rest.substr(taken, 7));
      if (step.consumed > 7) __builtin_trap();
      taken += step.consumed;
      if (step.done || !step.error.empty() || step.consumed == 0) break;
    }
    if (taken > rest.size()) __builtin_trap();
  }
  auto hello = read_client_hello(in);
  if (hello.state == ClientHello::State::Complete && hello.server_name.size() > 255)
    __builtin_trap();
  return 0;
}
