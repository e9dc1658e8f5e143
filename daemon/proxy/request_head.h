// The head of an HTTP/1.x request (request line and headers), parsed
// strictly: whatever two HTTP implementations could read differently is
// refused, since the proxy and the server behind it must agree on where a
// request ends (request smuggling) and on what the policy saw. RFC 9112.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::proxy {

struct HeadLimits {
  std::size_t max_request_line = 8192;
  std::size_t max_header_bytes = 32768;  // request line and headers, CRLFs included
  std::size_t max_headers = 100;
};

struct RequestHead {
  std::string method;
  std::string target;     // as sent
  std::string path;       // target's path, without the query
  int minor_version = 1;  // HTTP/1.minor
  // Names in lowercase, values without surrounding whitespace, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string host;  // lowercase, without the port ("" only for HTTP/1.0 without one)
  std::optional<std::uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding: chunked
  bool close = false;    // the client ends the connection after this one
  // Connection: upgrade with an Upgrade header: its protocols, lowercase
  // ("websocket", "h2c"); "" when the request asks for no upgrade.
  std::string upgrade;
  bool expect_continue = false;

  // The value of the one header of this (lowercase) name; nullptr when
  // absent. Several headers of one name: the first.
  const std::string* header(std::string_view name) const;
};

// What the bytes read so far make of a request head.
struct HeadParse {
  enum class State {
    NeedMore,      // no complete head yet, and no limit passed
    Complete,      // head parsed; consumed bytes of the input were it
    Http2Preface,  // "PRI * HTTP/2.0": a client speaking HTTP/2 directly
    Error,         // refuse with status and reason
  };
  State state = State::NeedMore;
  RequestHead head;
  std::size_t consumed = 0;
  int status = 0;      // for Error: 400, 414, 431, 501, 505
  std::string reason;  // for Error: what was wrong, for the record and the answer
};

// Parses a head from the start of input (which may hold more: a body,
// pipelined requests). Stateless: call again with more bytes on NeedMore.
HeadParse parse_request_head(std::string_view input, const HeadLimits& limits);

}  // namespace sluice::proxy
