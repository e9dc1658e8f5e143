#include "proxy/client_hello.h"

#include <cstdint>

namespace sluice::proxy {

namespace {

constexpr std::size_t kMaxHandshake = 16384;

// A cursor over bytes that fails soft: reading past the end sets bad.
struct Reader {
  std::string_view in;
  std::size_t pos = 0;
  bool bad = false;
  std::uint32_t number(int bytes) {
    std::uint32_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      if (pos >= in.size()) {
        bad = true;
        return 0;
      }
      v = v << 8 | static_cast<unsigned char>(in[pos++]);
    }
    return v;
  }
  std::string_view take(std::size_t n) {
    if (in.size() - pos < n) {
      bad = true;
      pos = in.size();
      return {};
    }
    auto s = in.substr(pos, n);
    pos += n;
    return s;
  }
};

ClientHello malformed(std::string why) {
  ClientHello h;
  h.state = ClientHello::State::Malformed;
  h.error = std::move(why);
  return h;
}

// The server_name extension's host name, "" when absent.
ClientHello server_name_of(std::string_view hello) {
  Reader r{hello};
  r.take(2 + 32);       // legacy_version, random
  r.take(r.number(1));  // legacy_session_id
  r.take(r.number(2));  // cipher_suites
  r.take(r.number(1));  // legacy_compression_methods
  if (r.bad) return malformed("a truncated ClientHello");
  ClientHello out;
  out.state = ClientHello::State::Complete;
  if (r.pos == hello.size()) return out;  // no extensions
  Reader ext{r.take(r.number(2))};
  if (r.bad) return malformed("truncated ClientHello extensions");
  while (ext.pos < ext.in.size()) {
    auto type = ext.number(2);
    Reader body{ext.take(ext.number(2))};
    if (ext.bad) return malformed("a truncated ClientHello extension");
    if (type != 0) continue;  // server_name
    Reader list{body.take(body.number(2))};
    while (list.pos < list.in.size()) {
      auto name_type = list.number(1);
      auto name = list.take(list.number(2));
      if (list.bad) return malformed("a truncated server_name extension");
      if (name_type != 0) continue;
      if (!out.server_name.empty()) return malformed("more than one host name in server_name");
      if (name.empty() || name.size() > 255) return malformed("an invalid server name length");
      for (unsigned char c : name)
        if (c <= 0x20 || c >= 0x7f) return malformed("a server name with invalid characters");
      out.server_name = name;
    }
    if (body.bad) return malformed("a truncated server_name extension");
  }
  return out;
}

}  // namespace

bool looks_like_tls(std::string_view in) {
  return in.size() >= 3 && in[0] == 0x16 && in[1] == 0x03 &&
         static_cast<unsigned char>(in[2]) <= 0x04;
}

ClientHello read_client_hello(std::string_view input) {
  if (input.empty()) return {};
  if (input[0] != 0x16 || (input.size() >= 2 && input[1] != 0x03)) {
    ClientHello h;
    h.state = ClientHello::State::NotTls;
    return h;
  }
  // The handshake bytes of the records read so far.
  std::string handshake;
  Reader records{input};
  while (records.pos < input.size()) {
    auto start = records.pos;
    if (input.size() - start < 5) return {};
    auto type = records.number(1);
    records.number(2);  // legacy record version
    auto length = records.number(2);
    if (type != 0x16) return malformed("a non-handshake record before the ClientHello ended");
    if (length == 0 || length > 16384 + 256) return malformed("an invalid TLS record length");
    if (input.size() - records.pos < length) return {};
    handshake += records.take(length);
    if (handshake.size() > kMaxHandshake + 4) return malformed("a ClientHello larger than 16 KiB");
    if (handshake.size() < 4) continue;
    if (handshake[0] != 0x01) return malformed("a handshake that is not a ClientHello");
    Reader h{handshake};
    h.number(1);
    auto hello_length = h.number(3);
    if (hello_length > kMaxHandshake) return malformed("a ClientHello larger than 16 KiB");
    if (handshake.size() - 4 < hello_length) continue;
    return server_name_of(std::string_view(handshake).substr(4, hello_length));
  }
  return {};
}

}  // namespace sluice::proxy
