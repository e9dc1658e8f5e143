#include "proxy/request_head.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "proxy/ascii.h"

namespace sluice::proxy {

const std::string* RequestHead::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return &v;
  return nullptr;
}

namespace {

bool is_tchar(unsigned char c) {
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(c); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated elements of a list header, trimmed, lowercase.
std::vector<std::string> list_items(std::string_view value) {
  std::vector<std::string> out;
  while (true) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    if (!item.empty()) out.push_back(lower(item));
    if (comma == std::string_view::npos) return out;
    value.remove_prefix(comma + 1);
  }
}

struct Refusal {
  int status;
  std::string reason;
};

HeadParse refuse(int status, std::string reason) {
  HeadParse p;
  p.state = HeadParse::State::Error;
  p.status = status;
  p.reason = std::move(reason);
  return p;
}

// A path a server could read as another one than the policy did: dot
// segments, encoded slashes, dots or backslashes, broken escapes.
std::optional<std::string> ambiguous_path(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '\\') return "a backslash in the path";
    if (c != '%') continue;
    if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(path[i + 2])))
      return "a broken percent escape in the path";
    std::string hex = lower(path.substr(i + 1, 2));
    if (hex == "2f" || hex == "5c" || hex == "2e") return "an encoded '/', '\\' or '.' in the path";
  }
  std::size_t start = 1;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    auto segment = path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (segment == "." || segment == "..") return "a '.' or '..' segment in the path";
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return std::nullopt;
}

// host[:port] of a Host header or an absolute target, lowercase, no port.
std::optional<std::string> host_of(std::string_view authority) {
  std::string_view name = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    name = authority.substr(0, close + 1);
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
    for (char c : name.substr(1, name.size() - 2))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return std::nullopt;
  } else {
    auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      name = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (name.empty()) return std::nullopt;
    for (unsigned char c : name)
      if (!std::isalnum(c) && c != '-' && c != '.' && c != '_') return std::nullopt;
  }
  if (authority.find(':') != std::string_view::npos && name.front() != '[' && port.empty())
    return std::nullopt;
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    return std::nullopt;
  return lower(name);
}

// Where the head ends (after its empty line), checking on the way that
// every line ends in CRLF and the limits hold. 0: not complete yet (or
// refused: bad is set).
std::size_t head_end(std::string_view in, const HeadLimits& limits, std::optional<Refusal>& bad) {
  std::size_t line_start = 0;
  bool first_line = true;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (first_line && i - line_start >= limits.max_request_line + 2) {
      bad = Refusal{
          414, "request line longer than " + std::to_string(limits.max_request_line) + " bytes"};
      return 0;
    }
    if (i >= limits.max_header_bytes + 2) {
      bad = Refusal{
          431, "request head larger than " + std::to_string(limits.max_header_bytes) + " bytes"};
      return 0;
    }
    if (in[i] == '\r') {
      if (i + 1 < in.size() && in[i + 1] != '\n') {
        bad = Refusal{400, "a bare CR in the request head"};
        return 0;
      }
      continue;
    }
    if (in[i] != '\n') continue;
    if (i == 0 || in[i - 1] != '\r') {
      bad = Refusal{400, "a line ending in a bare LF"};
      return 0;
    }
    if (first_line && i - 1 - line_start > limits.max_request_line) {
      bad = Refusal{
          414, "request line longer than " + std::to_string(limits.max_request_line) + " bytes"};
      return 0;
    }
    if (!first_line && i + 1 - line_start == 2) return i + 1;
    first_line = false;
    line_start = i + 1;
  }
  return 0;
}

}  // namespace

namespace {

// "METHOD SP target SP HTTP/1.x": exactly one space between.
std::optional<Refusal> request_line(std::string_view line, RequestHead& h, bool& h2) {
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return Refusal{400, "a request line that is not METHOD TARGET VERSION"};
  auto method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
       version = line.substr(sp2 + 1);
  if (method == "PRI" && target == "*" && version == "HTTP/2.0") {
    h2 = true;
    return std::nullopt;
  }
  if (!is_token(method)) return Refusal{400, "a method that is not a token"};
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7])))
    return Refusal{400, "a malformed HTTP version"};
  if (version[5] != '1') return Refusal{505, "HTTP version " + std::string(version) + " refused"};
  h.minor_version = version[7] - '0';
  if (h.minor_version > 1) return Refusal{505, "HTTP version " + std::string(version) + " refused"};
  if (target.empty()) return Refusal{400, "an empty request target"};
  for (unsigned char c : target)
    if (c <= 0x20 || c >= 0x7f) return Refusal{400, "a request target with a control character"};
  if (target.find('#') != std::string_view::npos)
    return Refusal{400, "a fragment in the request target"};
  h.method = method;
  h.target = target;
  if (method == "CONNECT") return Refusal{501, "CONNECT is not proxied"};
  std::string_view path = target;
  if (target == "*") {
    if (method != "OPTIONS") return Refusal{400, "target '*' on another method than OPTIONS"};
    h.path = "*";
    return std::nullopt;
  }
  if (lower(target.substr(0, 7)) == "http://") {  // absolute form: the host is in it
    auto rest = target.substr(7);
    auto slash = rest.find_first_of("/?");
    auto host = host_of(rest.substr(0, slash));
    if (!host) return Refusal{400, "a malformed host in the request target"};
    h.host = *host;
    path = slash == std::string_view::npos ? "/" : rest.substr(slash);
    if (path.front() == '?') return Refusal{400, "a request target without a path"};
  } else if (target.front() != '/') {
    return Refusal{400, "a request target that is neither a path nor an http:// URL"};
  }
  path = path.substr(0, path.find('?'));
  if (auto why = ambiguous_path(path)) return Refusal{400, *why};
  h.path = path;
  return std::nullopt;
}

// "name: value": no space before the colon, no folding, no control bytes.
std::optional<Refusal> header_line(std::string_view line, RequestHead& h) {
  if (line.front() == ' ' || line.front() == '\t')
    return Refusal{400, "a folded header line (obs-fold)"};
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return Refusal{400, "a header line without a colon"};
  auto name = line.substr(0, colon);
  if (!is_token(name))
    return Refusal{400, name.find_first_of(" \t") != std::string_view::npos
                            ? "whitespace between a header name and its colon"
                            : "a header name that is not a token"};
  auto value = trim(line.substr(colon + 1));
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return Refusal{400, "a control character in header " + std::string(name)};
  h.headers.emplace_back(lower(name), std::string(value));
  return std::nullopt;
}

std::optional<Refusal> content_length(const std::string& value, RequestHead& h) {
  if (h.content_length) return Refusal{400, "more than one Content-Length"};
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || value.size() > 18 || ec != std::errc() || end != value.data() + value.size())
    return Refusal{400, "an invalid Content-Length"};
  h.content_length = n;
  return std::nullopt;
}

// What the headers mean for framing, the host and the connection.
std::optional<Refusal> interpret(RequestHead& h) {
  int hosts = 0, codings = 0;
  bool connection_close = false, keep_alive = false, upgrade_token = false;
  const std::string* upgrade = nullptr;
  for (const auto& [name, value] : h.headers) {
    if (name == "content-length") {
      if (auto bad = content_length(value, h)) return bad;
    } else if (name == "transfer-encoding") {
      if (++codings > 1) return Refusal{400, "more than one Transfer-Encoding"};
      if (h.minor_version == 0) return Refusal{400, "Transfer-Encoding in an HTTP/1.0 request"};
      auto items = list_items(value);
      if (items != std::vector<std::string>{"chunked"})
        return Refusal{501, "transfer coding '" + value + "' is not supported (only chunked)"};
      h.chunked = true;
    } else if (name == "host") {
      if (++hosts > 1) return Refusal{400, "more than one Host"};
      auto host = host_of(value);
      if (!host) return Refusal{400, "a malformed Host"};
      if (!h.host.empty() && *host != h.host)
        return Refusal{400, "a Host that differs from the request target's"};
      h.host = *host;
    } else if (name == "connection") {
      for (const auto& item : list_items(value)) {
        connection_close |= item == "close";
        keep_alive |= item == "keep-alive";
        upgrade_token |= item == "upgrade";
      }
    } else if (name == "upgrade") {
      upgrade = &value;
    } else if (name == "expect") {
      h.expect_continue = lower(value) == "100-continue";
    }
  }
  if (h.chunked && h.content_length)
    return Refusal{400, "both Content-Length and Transfer-Encoding"};
  if (h.minor_version == 1 && hosts == 0) return Refusal{400, "no Host (HTTP/1.1 needs one)"};
  h.close = connection_close || (h.minor_version == 0 && !keep_alive);
  if (upgrade_token && upgrade) {
    for (const auto& item : list_items(*upgrade))
      h.upgrade += (h.upgrade.empty() ? "" : ",") + item;
  }
  return std::nullopt;
}

}  // namespace

HeadParse parse_request_head(std::string_view input, const HeadLimits& limits) {
  // Empty lines before a request are allowed (RFC 9112 2.2): some clients
  // send one after a body.
  std::size_t skipped = 0;
  while (input.substr(skipped, 2) == "\r\n") skipped += 2;
  if (skipped > 8) return refuse(400, "empty lines instead of a request");
  auto in = input.substr(skipped);
  std::optional<Refusal> bad;
  std::size_t end = head_end(in, limits, bad);
  if (bad) return refuse(bad->status, std::move(bad->reason));
  if (end == 0) return {};
  HeadParse p;
  auto head = in.substr(0, end - 2);  // without the empty line
  auto eol = head.find("\r\n");
  bool h2 = false;
  if (auto r = request_line(head.substr(0, eol), p.head, h2)) return refuse(r->status, r->reason);
  if (h2) {
    p.state = HeadParse::State::Http2Preface;
    return p;
  }
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    if (auto r = header_line(head.substr(pos, next - pos), p.head))
      return refuse(r->status, r->reason);
    if (p.head.headers.size() > limits.max_headers)
      return refuse(431, "more than " + std::to_string(limits.max_headers) + " headers");
    pos = next + 2;
  }
  if (auto r = interpret(p.head)) return refuse(r->status, r->reason);
  p.state = HeadParse::State::Complete;
  p.consumed = skipped + end;
  return p;
}

}  // namespace sluice::proxy
