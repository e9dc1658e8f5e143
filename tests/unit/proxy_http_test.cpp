// The proxy's parsing of untrusted bytes: request heads (every smuggling
// form refused), chunked bodies, the rule matcher and the TLS ClientHello.
#include <gtest/gtest.h>

#include "config/parser.h"
#include "proxy/chunked_body.h"
#include "proxy/client_hello.h"
#include "proxy/http_policy.h"
#include "proxy/request_head.h"

namespace {

using namespace sluice::proxy;
using State = HeadParse::State;

HeadParse parse(std::string_view in, HeadLimits limits = {}) {
  return parse_request_head(in, limits);
}

TEST(RequestHead, AGetWithItsHeaders) {
  std::string in =
      "GET /api/v1/items?x=1 HTTP/1.1\r\nHost: API.Internal:8080\r\nX-Team:  blue \r\n\r\n"
      "GET /next HTTP/1.1\r\n";
  auto p = parse(in);
  ASSERT_EQ(p.state, State::Complete) << p.reason;
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.target, "/api/v1/items?x=1");
  EXPECT_EQ(p.head.path, "/api/v1/items");
  EXPECT_EQ(p.head.host, "api.internal");
  ASSERT_NE(p.head.header("x-team"), nullptr);
  EXPECT_EQ(*p.head.header("x-team"), "blue");
  EXPECT_FALSE(p.head.close);
  EXPECT_FALSE(p.head.content_length);
  // The pipelined request after it is not part of it.
  EXPECT_EQ(p.consumed, in.find("GET /next"));
}

TEST(RequestHead, IncompleteHeadsWaitForMore) {
  std::string in = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  for (std::size_t n = 0; n < in.size(); ++n)
    EXPECT_EQ(parse(in.substr(0, n)).state, State::NeedMore) << n;
  auto p = parse(in);
  ASSERT_EQ(p.state, State::Complete);
  EXPECT_EQ(p.head.content_length, 5u);
}

TEST(RequestHead, ConnectionSemantics) {
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\n\r\n").head.close);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.close);
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").head.close);
  auto ws = parse(
      "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "
      "WebSocket\r\n\r\n");
  EXPECT_EQ(ws.head.upgrade, "websocket");
  // Upgrade without the Connection token asks for nothing.
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").head.upgrade, "");
  auto chunked = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
  EXPECT_TRUE(chunked.head.chunked);
  auto absolute = parse("GET http://Example.com:81/a/b?q HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_EQ(absolute.state, State::Complete) << absolute.reason;
  EXPECT_EQ(absolute.head.path, "/a/b");
  EXPECT_EQ(absolute.head.host, "example.com");
  // Empty lines before a request are skipped.
  auto after_body = parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(after_body.state, State::Complete);
  EXPECT_EQ(after_body.consumed, 2 + 27u);
}

TEST(RequestHead, Http2PriorKnowledgeIsRecognised) {
  EXPECT_EQ(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").state, State::Http2Preface);
}

struct Refused {
  const char* name;
  std::string input;
  int status;
  const char* reason;
};

class RefusedHeads : public ::testing::TestWithParam<Refused> {};

TEST_P(RefusedHeads, WithStatusAndReason) {
  HeadLimits small{.max_request_line = 64, .max_header_bytes = 256, .max_headers = 8};
  auto p = parse(GetParam().input, small);
  EXPECT_EQ(p.state, State::Error);
  EXPECT_EQ(p.status, GetParam().status);
  EXPECT_EQ(p.reason, GetParam().reason);
}

const std::string kHost = "Host: a\r\n";
const Refused kRefused[] = {
    {"cl_and_te",
     "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "both Content-Length and Transfer-Encoding"},
    {"te_and_cl",
     "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 400,
     "both Content-Length and Transfer-Encoding"},
    {"duplicate_cl",
     "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 4\r\nContent-Length: 4\r\n\r\n", 400,
     "more than one Content-Length"},
    {"cl_list", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 4, 4\r\n\r\n", 400,
     "an invalid Content-Length"},
    {"cl_sign", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: +4\r\n\r\n", 400,
     "an invalid Content-Length"},
    {"cl_hex", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 0x4\r\n\r\n", 400,
     "an invalid Content-Length"},
    {"cl_huge", "POST / HTTP/1.1\r\n" + kHost + "Content-Length: 99999999999999999999\r\n\r\n", 400,
     "an invalid Content-Length"},
    {"te_gzip", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501,
     "transfer coding 'gzip, chunked' is not supported (only chunked)"},
    {"te_twice",
     "POST / HTTP/1.1\r\n" + kHost +
         "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     400, "more than one Transfer-Encoding"},
    {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "Transfer-Encoding in an HTTP/1.0 request"},
    {"te_obfuscated", "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding : chunked\r\n\r\n", 400,
     "whitespace between a header name and its colon"},
    {"obs_fold", "GET / HTTP/1.1\r\n" + kHost + "X-A: 1\r\n  continued\r\n\r\n", 400,
     "a folded header line (obs-fold)"},
    {"bare_lf", "GET / HTTP/1.1\n" + kHost + "\r\n", 400, "a line ending in a bare LF"},
    {"bare_lf_header", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400,
     "a line ending in a bare LF"},
    {"bare_cr", "GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", 400, "a bare CR in the request head"},
    {"nul_in_value", std::string("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 36), 400,
     "a control character in header X"},
    {"no_host", "GET / HTTP/1.1\r\n\r\n", 400, "no Host (HTTP/1.1 needs one)"},
    {"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host"},
    {"bad_host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "a malformed Host"},
    {"host_differs", "GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
     "a Host that differs from the request target's"},
    {"two_spaces", "GET  / HTTP/1.1\r\n" + kHost + "\r\n", 400,
     "a request line that is not METHOD TARGET VERSION"},
    {"http09", "GET /\r\n\r\n", 400, "a request line that is not METHOD TARGET VERSION"},
    {"http2_version", "GET / HTTP/2.0\r\n" + kHost + "\r\n", 505, "HTTP version HTTP/2.0 refused"},
    {"dot_segment", "GET /api/v1/../admin HTTP/1.1\r\n" + kHost + "\r\n", 400,
     "a '.' or '..' segment in the path"},
    {"encoded_dot", "GET /api/v1/%2e%2e/admin HTTP/1.1\r\n" + kHost + "\r\n", 400,
     "an encoded '/', '\\' or '.' in the path"},
    {"encoded_slash", "GET /api%2Fadmin HTTP/1.1\r\n" + kHost + "\r\n", 400,
     "an encoded '/', '\\' or '.' in the path"},
    {"backslash", "GET /api\\admin HTTP/1.1\r\n" + kHost + "\r\n", 400, "a backslash in the path"},
    {"broken_escape", "GET /api%4 HTTP/1.1\r\n" + kHost + "\r\n", 400,
     "a broken percent escape in the path"},
    {"relative_target", "GET api HTTP/1.1\r\n" + kHost + "\r\n", 400,
     "a request target that is neither a path nor an http:// URL"},
    {"connect", "CONNECT a:443 HTTP/1.1\r\n" + kHost + "\r\n", 501, "CONNECT is not proxied"},
    {"long_line", "GET /" + std::string(80, 'a') + " HTTP/1.1\r\n" + kHost + "\r\n", 414,
     "request line longer than 64 bytes"},
    {"long_line_unfinished", "GET /" + std::string(80, 'a'), 414,
     "request line longer than 64 bytes"},
    {"big_head", "GET / HTTP/1.1\r\n" + kHost + "X: " + std::string(300, 'b') + "\r\n\r\n", 431,
     "request head larger than 256 bytes"},
    {"many_headers",
     "GET / HTTP/1.1\r\n" + kHost + std::string("X: 1\r\n") +
         "X: 1\r\nX: 1\r\nX: 1\r\nX: 1\r\nX: 1\r\nX: 1\r\nX: 1\r\n\r\n",
     431, "more than 8 headers"},
};

INSTANTIATE_TEST_SUITE_P(Smuggling, RefusedHeads, ::testing::ValuesIn(kRefused),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ChunkedBody, FollowsSizesExtensionsAndTrailers) {
  std::string body = "5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n";
  std::string next = "GET / HTTP/1.1\r\n";
  // Byte by byte, as a slow client would send it.
  ChunkedBody slow;
  std::size_t total = 0;
  bool done = false;
  for (char c : body + next) {
    if (done) break;
    auto step = slow.feed(std::string_view(&c, 1));
    ASSERT_TRUE(step.error.empty()) << step.error;
    total += step.consumed;
    done = step.done;
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(total, body.size());
  EXPECT_EQ(slow.data_bytes(), 15u);
  ChunkedBody whole;
  auto step = whole.feed(body + next);
  EXPECT_TRUE(step.done);
  EXPECT_EQ(step.consumed, body.size());
}

TEST(ChunkedBody, RefusesWhatParsersReadDifferently) {
  const std::pair<std::string, std::string> bad[] = {
      {"-1\r\n", "an invalid chunk size"},
      {" 5\r\nhello\r\n", "an invalid chunk size"},
      {"5 \r\nhello\r\n", "an invalid chunk size"},
      {"0x5\r\nhello\r\n", "an invalid chunk size"},
      {"1000000000000000\r\n", "a chunk size with too many digits"},
      {"5\nhello\r\n", "an invalid chunk size"},
      {"5\r\r\nhello", "a bare CR after a chunk size"},
      {"3\r\nhello\r\n", "chunk data longer than its size"},
      {"5\r\nhello\n0\r\n", "a bare LF after chunk data"},
      {"5\r\nhello\rX", "a bare CR after chunk data"},
      {"0\r\n folded\r\n\r\n", "a folded trailer line"},
      {"0\r\nX: 1\n\r\n", "a control character in the trailers"},
  };
  for (const auto& [input, why] : bad) {
    ChunkedBody b;
    auto step = b.feed(input);
    EXPECT_EQ(step.error, why) << input;
    EXPECT_FALSE(step.done) << input;
  }
}

sluice::config::L7Policy flagship() {
  auto r = sluice::config::parse_string(
      "[[rule]]\nname = \"api\"\nchain = \"forward\"\nproto = \"tcp\"\naction = \"accept\"\n"
      "http = [{ method = \"GET\", path = \"/api/v1/.*\" }, { method = \"POST\", path = "
      "\"/upload\", host = \"*.internal\", headers = { \"X-Team\" = \"blue|green\" } }]\n"
      "tls_sni = [\"*.example.com\", \"api.internal\"]\n",
      "t.toml", ".");
  EXPECT_TRUE(r.config);
  return *r.config->rules[0].l7;
}

RequestHead head_of(const std::string& text) {
  auto p = parse(text);
  EXPECT_EQ(p.state, State::Complete) << p.reason;
  return p.head;
}

TEST(HttpPolicy, TheFlagshipRule) {
  HttpPolicy policy(flagship());
  EXPECT_EQ(policy.match(head_of("GET /api/v1/x HTTP/1.1\r\nHost: api\r\n\r\n")), 0u);
  EXPECT_EQ(policy.match(head_of("GET /api/v1/x?all=1 HTTP/1.1\r\nHost: api\r\n\r\n")), 0u);
  // Anchored: the whole path must match.
  EXPECT_FALSE(policy.match(head_of("GET /x/api/v1/y HTTP/1.1\r\nHost: api\r\n\r\n")));
  EXPECT_FALSE(policy.match(head_of("GET /admin HTTP/1.1\r\nHost: api\r\n\r\n")));
  EXPECT_FALSE(policy.match(head_of("POST /api/v1/x HTTP/1.1\r\nHost: api\r\n\r\n")));
  EXPECT_FALSE(policy.match(head_of("get /api/v1/x HTTP/1.1\r\nHost: api\r\n\r\n")));
}

TEST(HttpPolicy, HostAndHeaders) {
  HttpPolicy policy(flagship());
  auto post = [](const std::string& host, const std::string& headers) {
    return head_of("POST /upload HTTP/1.1\r\nHost: " + host + "\r\n" + headers +
                   "Content-Length: 0\r\n\r\n");
  };
  EXPECT_EQ(policy.match(post("files.internal", "X-Team: green\r\n")), 1u);
  EXPECT_EQ(policy.match(post("FILES.INTERNAL:8080", "x-team: blue\r\n")), 1u);
  EXPECT_FALSE(policy.match(post("files.example", "X-Team: blue\r\n")));
  EXPECT_FALSE(policy.match(post("files.internal", "")));
  EXPECT_FALSE(policy.match(post("files.internal", "X-Team: bluegreen\r\n")));
  // Every copy of a named header must match: a server may read any.
  EXPECT_FALSE(policy.match(post("files.internal", "X-Team: blue\r\nX-Team: red\r\n")));
}

TEST(HttpPolicy, ServerNames) {
  HttpPolicy policy(flagship());
  EXPECT_TRUE(policy.allows_server_name("www.example.com"));
  EXPECT_TRUE(policy.allows_server_name("API.internal"));
  EXPECT_FALSE(policy.allows_server_name("example.com"));
  EXPECT_FALSE(policy.allows_server_name("evil.internal"));
}

// A ClientHello as a TLS 1.3 client sends it, naming host (or none).
std::string client_hello(const std::string& host) {
  auto be16 = [](std::size_t v) { return std::string{char(v >> 8), char(v & 0xff)}; };
  std::string ext;
  if (!host.empty()) {
    std::string entry = std::string(1, '\0') + be16(host.size()) + host;
    std::string list = be16(entry.size()) + entry;
    ext += be16(0) + be16(list.size()) + list;
  }
  ext += be16(43) + be16(3) + "\x02\x03\x04";  // supported_versions
  std::string body = "\x03\x03" + std::string(32, 'r') + std::string(1, '\0') + be16(4) +
                     "\x13\x01\x13\x02" + "\x01" + std::string(1, '\0') + be16(ext.size()) + ext;
  std::string hs = std::string(1, '\x01') + '\0' + be16(body.size()) + body;
  return "\x16\x03\x01" + be16(hs.size()) + hs;
}

TEST(ClientHello, ReadsTheServerName) {
  auto hello = client_hello("api.internal");
  auto got = read_client_hello(hello);
  ASSERT_EQ(got.state, ClientHello::State::Complete) << got.error;
  EXPECT_EQ(got.server_name, "api.internal");
  for (std::size_t n = 1; n < hello.size(); ++n)
    EXPECT_EQ(read_client_hello(hello.substr(0, n)).state, ClientHello::State::NeedMore) << n;
  EXPECT_EQ(read_client_hello(client_hello("")).server_name, "");
  EXPECT_TRUE(looks_like_tls(hello));
  EXPECT_FALSE(looks_like_tls("GET / HTTP/1.1\r\n"));
  EXPECT_EQ(read_client_hello("GET / HTTP/1.1\r\n").state, ClientHello::State::NotTls);
}

TEST(ClientHello, AHelloOverTwoRecords) {
  auto one = client_hello("www.example.com");
  std::string hs = one.substr(5);
  auto record = [](const std::string& part) {
    return std::string("\x16\x03\x01") + char(part.size() >> 8) + char(part.size() & 0xff) + part;
  };
  auto two = record(hs.substr(0, 20)) + record(hs.substr(20));
  auto got = read_client_hello(two);
  ASSERT_EQ(got.state, ClientHello::State::Complete) << got.error;
  EXPECT_EQ(got.server_name, "www.example.com");
}

TEST(ClientHello, MalformedHellos) {
  auto hello = client_hello("api.internal");
  auto bad_length = hello;
  bad_length[hello.size() - 7 - 12 - 2] = 0x7f;  // the host name's length, too long
  EXPECT_EQ(read_client_hello(bad_length).state, ClientHello::State::Malformed);
  auto not_hello = hello;
  not_hello[5] = 0x02;  // a ServerHello
  EXPECT_EQ(read_client_hello(not_hello).state, ClientHello::State::Malformed);
  EXPECT_EQ(read_client_hello(std::string("\x16\x03\x01\x00\x00", 5)).state,
            ClientHello::State::Malformed);
}

}  // namespace
