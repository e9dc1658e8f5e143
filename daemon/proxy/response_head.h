// The head of a server's HTTP/1.x response: just what the proxy needs to
// find where the response ends (RFC 9112 6.3) and to record it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::proxy {

struct ResponseHead {
  int status = 0;
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
  bool close = false;  // the server ends the connection after it
};

struct ResponseParse {
  enum class State { NeedMore, Complete, Error };
  State state = State::NeedMore;
  ResponseHead head;
  std::size_t consumed = 0;
  std::string reason;  // for Error
};

// max_bytes: a head larger than this is an error.
ResponseParse parse_response_head(std::string_view input, std::size_t max_bytes);

// Whether a response to this request method with this status has no body
// whatever its headers say (HEAD, 1xx, 204, 304).
bool response_has_no_body(std::string_view method, int status);

}  // namespace sluice::proxy
