// ASCII case folding for protocol text (header names, hosts, server
// names): the C library's tolower is locale-aware and a call per byte, on
// the proxy's hottest path.
#pragma once

namespace sluice::proxy {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace sluice::proxy
