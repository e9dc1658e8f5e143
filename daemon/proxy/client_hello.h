// The server name a TLS client asks for, read from its ClientHello
// without decrypting anything (RFC 8446 4.1.2, RFC 6066 3). The hello may
// span several records; only what the name needs is checked.
#pragma once

#include <string>
#include <string_view>

namespace sluice::proxy {

struct ClientHello {
  enum class State {
    NeedMore,  // a TLS handshake, not complete yet
    NotTls,    // the first bytes are no TLS handshake record
    Malformed,
    Complete,
  };
  State state = State::NeedMore;
  std::string server_name;  // "" when the hello names none
  std::string error;        // for Malformed
};

// Reads a ClientHello from the start of what a client sent; at most
// 16 KiB of handshake are read (a larger hello is Malformed).
ClientHello read_client_hello(std::string_view input);

// Whether the first bytes look like a TLS handshake record (so an
// HTTP rule's flow that starts with TLS can be refused with a reason).
bool looks_like_tls(std::string_view input);

}  // namespace sluice::proxy
