// HTTP exchanges of a proxied connection: each request head judged by the
// rule, its body framed (and refused past the limit), the response framed
// so that the next request starts exactly where this one ended.
#include "proxy/connection.h"

#include <strings.h>

#include <chrono>

#include "proxy/client_hello.h"
#include "proxy/response_head.h"

namespace sluice::proxy {

namespace {

constexpr std::size_t kMaxResponseHead = 65536;

// A request head without its "Connection: close" line (when that is the
// header's one token; else unchanged).
std::string without_connection_close(std::string_view head) {
  std::string out;
  std::size_t pos = 0;
  bool dropped = false;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    auto line = head.substr(pos, end + 2 - pos);
    pos = end + 2;
    auto colon = line.find(':');
    if (!dropped && colon == 10 && strncasecmp(line.data(), "connection", 10) == 0) {
      auto value = line.substr(11, line.size() - 13);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (value.size() == 5 && strncasecmp(value.data(), "close", 5) == 0) {
        dropped = true;
        continue;
      }
    }
    out += line;
  }
  return out;
}

const char* status_text(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void count(ProxyState& state, const L7Record& r) {
  auto& c = state.counters[r.rule];
  if (c.latency_buckets.empty()) {
    c.rule = r.rule;
    c.latency_buckets.resize(kLatencyBucketCount);
  }
  (r.verdict == "allowed"  ? c.allowed
   : r.verdict == "denied" ? c.denied
   : r.verdict == "audit"  ? c.audit
                           : c.refused)++;
  double seconds = static_cast<double>(r.latency_us) / 1e6;
  std::size_t b = 0;
  while (b < std::size(kLatencyBuckets) && seconds > kLatencyBuckets[b]) ++b;
  ++c.latency_buckets[b];
  c.latency_sum_us += r.latency_us;
}

const ActiveRule* Connection::rule() const {
  auto it = state_.rules.find(slot_);
  return it == state_.rules.end() ? nullptr : it->second.get();
}

void Connection::drive() {
  bool progress = true;
  while (progress) {
    switch (mode_) {
      case Mode::Detect:
        progress = detect();
        break;
      case Mode::Http:
        progress = http_step();
        break;
      case Mode::Tunnel:
        progress = tunnel_step();
        break;
      default:
        progress = false;
        break;
    }
  }
  if (mode_ == Mode::Closing && to_client_.empty()) close_now();
  if (mode_ != Mode::Done) update_interest();
}

// The first bytes say what the client speaks: TLS for a tls_sni rule,
// HTTP for an http rule; anything else is refused.
bool Connection::detect() {
  const ActiveRule* r = rule();
  if (!r) {
    close_now();
    return false;
  }
  if (from_client_.empty() || (from_client_[0] == 0x16 && from_client_.size() < 3)) {
    if (client_eof_) close_now();
    return false;
  }
  rec_ = L7Record{};
  rec_.time_ms = wall_ms();
  exchange_start_ = Clock::now();
  if (!looks_like_tls(from_client_)) {
    if (!r->rule.l7.http.empty()) {
      mode_ = Mode::Http;
      return true;
    }
    rec_.kind = "tls";
    record("refused", "not TLS: rule '" + r->rule.name + "' allows only TLS server names");
    close_now();
    return false;
  }
  rec_.kind = "tls";
  if (r->rule.l7.tls_sni.empty()) {
    record("refused", "TLS on rule '" + r->rule.name + "', which allows only HTTP requests");
    close_now();
    return false;
  }
  auto hello = read_client_hello(from_client_);
  if (hello.state == ClientHello::State::NeedMore) return false;
  if (hello.state != ClientHello::State::Complete) {
    record("refused", hello.state == ClientHello::State::Malformed ? hello.error : "not TLS");
    close_now();
    return false;
  }
  rec_.sni = hello.server_name;
  bool allowed = r->policy.allows_server_name(hello.server_name);
  if (!allowed && !r->rule.audit) {
    record("denied",
           "server name '" + hello.server_name + "' is not one rule '" + r->rule.name + "' allows");
    close_now();
    return false;
  }
  record(allowed ? "allowed" : "audit", allowed ? "" : "server name not in the rule");
  to_upstream_ = std::move(from_client_);
  from_client_.clear();
  mode_ = Mode::Tunnel;
  return connect_upstream();
}

bool Connection::http_step() {
  bool progress = false;
  if (request_ == Request::Head) progress |= request_head();
  if (mode_ != Mode::Http) return progress;
  if (request_ == Request::Body) progress |= request_body();
  if (mode_ != Mode::Http) return progress;
  if (response_ == Response::Head) progress |= response_head();
  if (mode_ != Mode::Http) return progress;
  if (response_ == Response::Body) progress |= response_body();
  return progress;
}

bool Connection::request_head() {
  if (from_client_.empty()) {
    head_started_ = false;
    if (client_eof_ && response_ == Response::None) close_after_flush();
    return false;
  }
  if (!head_started_) {
    head_started_ = true;
    head_start_ = Clock::now();
    deadline_in(state_.limits.header_timeout_seconds);
  }
  HeadLimits limits{state_.limits.max_request_line, state_.limits.max_header_bytes,
                    state_.limits.max_headers};
  auto parsed = parse_request_head(from_client_, limits);
  switch (parsed.state) {
    case HeadParse::State::NeedMore:
      if (client_eof_) close_after_flush();
      return false;
    case HeadParse::State::Error:
      rec_ = L7Record{};
      rec_.time_ms = wall_ms();
      rec_.kind = "http";
      rec_.method = parsed.head.method;
      answer(parsed.status, parsed.reason, true);
      record("refused", parsed.reason);
      return false;
    case HeadParse::State::Http2Preface:
      refuse_http2(*rule());
      return true;
    case HeadParse::State::Complete:
      start_exchange(parsed.head, parsed.consumed);
      return true;
  }
  return false;
}

// Why the rule refuses this request ("" none); audit_only: it would, but
// the rule only audits.
std::optional<std::string> Connection::denial(const ActiveRule& r, const RequestHead& head,
                                              bool& audit_only) {
  std::optional<std::string> why;
  if (!head.upgrade.empty()) {
    bool websocket = head.upgrade == "websocket";
    if (websocket && !r.rule.l7.websocket)
      why = "WebSocket upgrades are not allowed by rule '" + r.rule.name + "'";
    else if (!websocket && !r.rule.l7.http2_opaque)
      why = "an upgrade to " + head.upgrade + " is not allowed by rule '" + r.rule.name + "'";
  }
  if (!why && !r.policy.match(head))
    why = "request denied by rule '" + r.rule.name + "': no http entry allows " + head.method +
          " " + head.path + (head.host.empty() ? "" : " on " + head.host);
  audit_only = why && r.rule.audit;
  return why;
}

void Connection::start_exchange(const RequestHead& head, std::size_t head_bytes) {
  const ActiveRule* r = rule();
  rec_ = L7Record{};
  rec_.time_ms = wall_ms();
  rec_.kind = head.upgrade.empty() ? "http" : head.upgrade == "websocket" ? "websocket" : "http2";
  rec_.method = head.method;
  rec_.host = head.host;
  rec_.path = head.path;
  rec_.request_bytes = head_bytes;
  exchange_start_ = Clock::now();
  head_started_ = false;
  close_after_ = head.close;
  upgrade_ = !head.upgrade.empty();
  request_framing_ = head.chunked          ? Framing::Chunked
                     : head.content_length ? Framing::Length
                                           : Framing::None;
  request_left_ = head.content_length.value_or(0);
  request_chunks_.reset();
  if (head.chunked) request_chunks_.emplace();
  body_limit_ =
      r && r->rule.l7.max_body_bytes ? r->rule.l7.max_body_bytes : state_.limits.max_body_bytes;
  if (!r) {
    from_client_.erase(0, head_bytes);
    answer(403, "the rule of this connection is gone", true);
    record("denied", "the rule of this connection is gone");
    return;
  }
  rec_.rule = r->rule.name;
  bool audit_only = false;
  auto why = denial(*r, head, audit_only);
  if (head.content_length && *head.content_length > body_limit_) {
    from_client_.erase(0, head_bytes);
    answer(413, "a request body larger than " + std::to_string(body_limit_) + " bytes", true);
    record("refused", "a request body larger than " + std::to_string(body_limit_) + " bytes");
    return;
  }
  denied_ = why && !audit_only;
  if (denied_) {
    from_client_.erase(0, head_bytes);
    // A client waiting for 100 Continue sends no body after a 403: the
    // connection cannot go on, as the next bytes could be either.
    bool waiting = head.expect_continue && request_framing_ != Framing::None;
    answer(403, *why, head.close || waiting);
    record("denied", *why);
  } else {
    if (audit_only) rec_.reason = *why;
    upstream_reusable_ = false;
    add_close_ = false;
    std::string_view raw(from_client_.data(), head_bytes);
    if (head.close && head.minor_version == 1 && head.upgrade.empty()) {
      auto kept = without_connection_close(raw);
      add_close_ = kept.size() != raw.size();
      to_upstream_ += kept;
    } else {
      to_upstream_ += raw;
    }
    from_client_.erase(0, head_bytes);
    response_ = Response::Head;
    if (upstream_fd_ < 0 && !connect_upstream()) return;
    if (!connecting_) deadline_in(upstream_seconds());
  }
  request_ = request_framing_ == Framing::None ? (denied_ ? Request::Head : Request::AwaitResponse)
                                               : Request::Body;
}

bool Connection::request_body() {
  if (from_client_.empty()) {
    if (client_eof_) close_after_flush();
    return false;
  }
  std::size_t take = 0;
  bool done = false;
  if (request_framing_ == Framing::Length) {
    take = static_cast<std::size_t>(std::min<std::uint64_t>(request_left_, from_client_.size()));
    request_left_ -= take;
    done = request_left_ == 0;
  } else {
    auto step = request_chunks_->feed(from_client_);
    if (!step.error.empty() || request_chunks_->data_bytes() > body_limit_) {
      bool too_large = step.error.empty();
      std::string why = too_large
                            ? "a request body larger than " + std::to_string(body_limit_) + " bytes"
                            : step.error;
      if (denied_ || response_ == Response::Head) {
        answer(too_large ? 413 : 400, why, true);
        record("refused", why);
      } else {
        close_now();
      }
      return false;
    }
    take = step.consumed;
    done = step.done;
  }
  rec_.request_bytes += take;
  if (!denied_) to_upstream_.append(from_client_, 0, take);
  from_client_.erase(0, take);
  if (done) request_ = denied_ ? Request::Head : Request::AwaitResponse;
  return take > 0 || done;
}

bool Connection::response_head() {
  if (from_upstream_.empty()) return false;
  auto parsed = parse_response_head(from_upstream_, kMaxResponseHead);
  if (parsed.state == ResponseParse::State::NeedMore) return false;
  if (parsed.state == ResponseParse::State::Error) {
    answer(502, "the server's response: " + parsed.reason, true);
    record("refused", "the server's response: " + parsed.reason);
    return false;
  }
  int status = parsed.head.status;
  rec_.response_bytes += parsed.consumed;
  if (add_close_ && status >= 200 && !parsed.head.close) {
    // The client asked to close: say so, as the server would have.
    to_client_.append(from_upstream_, 0, parsed.consumed - 2);
    to_client_ += "Connection: close\r\n\r\n";
  } else {
    to_client_.append(from_upstream_, 0, parsed.consumed);
  }
  from_upstream_.erase(0, parsed.consumed);
  if (status == 101) {
    if (!upgrade_) {
      close_now();
      return false;
    }
    rec_.status = 101;
    record(rec_.reason.empty() ? "allowed" : "audit", rec_.reason);
    to_upstream_ += from_client_;
    from_client_.clear();
    mode_ = Mode::Tunnel;
    return true;
  }
  if (status < 200) return true;  // 100 Continue, 103: the final answer follows
  rec_.status = status;
  close_after_ |= parsed.head.close;
  response_reusable_ = !parsed.head.close && (parsed.head.chunked || parsed.head.content_length ||
                                              response_has_no_body(rec_.method, status));
  response_left_ = parsed.head.content_length.value_or(0);
  response_chunks_.reset();
  if (response_has_no_body(rec_.method, status)) {
    response_framing_ = Framing::None;
  } else if (parsed.head.chunked) {
    response_framing_ = Framing::Chunked;
    response_chunks_.emplace();
  } else if (parsed.head.content_length) {
    response_framing_ = Framing::Length;
  } else {
    response_framing_ = Framing::UntilClose;
    close_after_ = true;
  }
  response_ = Response::Body;
  if (response_framing_ == Framing::None ||
      (response_framing_ == Framing::Length && response_left_ == 0))
    finish_exchange();
  return true;
}

bool Connection::response_body() {
  std::size_t take = 0;
  bool done = false;
  switch (response_framing_) {
    case Framing::Length:
      take =
          static_cast<std::size_t>(std::min<std::uint64_t>(response_left_, from_upstream_.size()));
      response_left_ -= take;
      done = response_left_ == 0;
      break;
    case Framing::Chunked: {
      auto step = response_chunks_->feed(from_upstream_);
      if (!step.error.empty()) {
        close_now();  // the client has part of it: it can only be cut
        return false;
      }
      take = step.consumed;
      done = step.done;
      break;
    }
    default:  // until the server closes
      take = from_upstream_.size();
      done = upstream_eof_;
      break;
  }
  rec_.response_bytes += take;
  to_client_.append(from_upstream_, 0, take);
  from_upstream_.erase(0, take);
  if (done) finish_exchange();
  return take > 0 || done;
}

void Connection::finish_exchange() {
  record(rec_.reason.empty() ? "allowed" : "audit", rec_.reason);
  response_ = Response::None;
  bool request_done = request_ == Request::AwaitResponse;
  upstream_reusable_ = request_done && response_reusable_;
  if (close_after_ || !request_done) {
    close_after_flush();
    return;
  }
  request_ = Request::Head;
  deadline_in(idle_seconds());
}

// HTTP/2 prior knowledge: an opaque tunnel when the rule allows it, else
// the HTTP/2 way of saying no (SETTINGS, then GOAWAY HTTP_1_1_REQUIRED
// with the reason as debug data).
void Connection::refuse_http2(const ActiveRule& r) {
  rec_ = L7Record{};
  rec_.time_ms = wall_ms();
  rec_.kind = "http2";
  rec_.rule = r.rule.name;
  if (r.rule.l7.http2_opaque) {
    record("allowed", "");
    to_upstream_ = std::move(from_client_);
    from_client_.clear();
    mode_ = Mode::Tunnel;
    connect_upstream();
    return;
  }
  std::string why = "HTTP/2 prior knowledge is refused by rule '" + r.rule.name +
                    "' (its requests could not be checked); use HTTP/1.1";
  std::string settings("\0\0\0\x04\0\0\0\0\0", 9);
  std::string payload("\0\0\0\0\0\0\0\x0d", 8);
  payload += why;
  std::string goaway;
  goaway += static_cast<char>(payload.size() >> 16);
  goaway += static_cast<char>(payload.size() >> 8);
  goaway += static_cast<char>(payload.size());
  goaway += std::string("\x07\0\0\0\0\0", 6);
  to_client_ += settings + goaway + payload;
  record("refused", why);
  close_after_flush();
}

// An answer of the proxy's own; its body names the reason.
void Connection::answer(int status, const std::string& reason, bool close) {
  std::string body = "sluice: " + reason + "\n";
  to_client_ += "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) +
                "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                std::to_string(body.size()) +
                "\r\nConnection: " + (close ? "close" : "keep-alive") + "\r\n\r\n" + body;
  rec_.status = status;
  rec_.response_bytes = body.size();
  if (close) close_after_flush();
}

void Connection::record(const std::string& verdict, const std::string& reason) {
  rec_.verdict = verdict;
  rec_.reason = reason;
  rec_.slot = slot_;
  if (rec_.rule.empty())
    if (const auto* r = rule()) rec_.rule = r->rule.name;
  rec_.client = client_addr_;
  rec_.client_port = client_port_;
  rec_.server = server_addr_;
  rec_.server_port = server_port_;
  rec_.latency_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - exchange_start_)
          .count());
  count(state_, rec_);
  if (verdict != "allowed" || state_.record_allowed) state_.records.push_back(rec_);
}

}  // namespace sluice::proxy
