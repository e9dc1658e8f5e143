#include "proxy/response_head.h"

#include <cctype>
#include <charconv>

#include "proxy/ascii.h"

namespace sluice::proxy {

namespace {

ResponseParse error(std::string why) {
  ResponseParse p;
  p.state = ResponseParse::State::Error;
  p.reason = std::move(why);
  return p;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool contains_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool response_has_no_body(std::string_view method, int status) {
  return method == "HEAD" || (status >= 100 && status < 200) || status == 204 || status == 304;
}

ResponseParse parse_response_head(std::string_view in, std::size_t max_bytes) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (in.size() > max_bytes) return error("a response head larger than the limit");
    return {};
  }
  if (end + 4 > max_bytes) return error("a response head larger than the limit");
  ResponseParse p;
  auto head = in.substr(0, end + 2);
  auto eol = head.find("\r\n");
  auto line = head.substr(0, eol);
  // "HTTP/1.x SSS reason"
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' '))
    return error("a malformed status line");
  int status = 0;
  auto [ptr, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
  if (ec != std::errc() || ptr != line.data() + 12 || status < 100 || status > 999)
    return error("a malformed status code");
  p.head.status = status;
  bool http10 = line[7] == '0', keep_alive = false;
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    auto next = head.find("\r\n", pos);
    auto field = head.substr(pos, next - pos);
    pos = next + 2;
    auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0 || field.front() == ' ' ||
        field.front() == '\t')
      return error("a malformed response header");
    auto name = field.substr(0, colon), value = trim(field.substr(colon + 1));
    if (iequals(name, "transfer-encoding")) {
      p.head.chunked = contains_token(value, "chunked");
    } else if (iequals(name, "content-length")) {
      std::uint64_t n = 0;
      auto [e, c] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (c != std::errc() || e != value.data() + value.size() ||
          (p.head.content_length && *p.head.content_length != n))
        return error("an invalid Content-Length in the response");
      p.head.content_length = n;
    } else if (iequals(name, "connection")) {
      p.head.close |= contains_token(value, "close");
      keep_alive |= contains_token(value, "keep-alive");
    }
  }
  if (p.head.chunked) p.head.content_length.reset();  // RFC 9112 6.3: chunked wins
  if (http10 && !keep_alive) p.head.close = true;
  p.state = ResponseParse::State::Complete;
  p.consumed = end + 4;
  return p;
}

}  // namespace sluice::proxy
