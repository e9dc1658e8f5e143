#include "config/diagnostics.h"

namespace sluice::config {

std::string Diagnostic::to_string() const {
  std::string s =
      where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

std::string format(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.to_string() + "\n";
  return out;
}

const char* to_string(Chain c) {
  switch (c) {
    case Chain::Input:
      return "input";
    case Chain::Forward:
      return "forward";
    case Chain::Output:
      return "output";
  }
  return "?";
}

const char* to_string(Action a) {
  switch (a) {
    case Action::Accept:
      return "accept";
    case Action::Drop:
      return "drop";
    case Action::Reject:
      return "reject";
  }
  return "?";
}

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::Any:
      return "any";
    case Protocol::Tcp:
      return "tcp";
    case Protocol::Udp:
      return "udp";
    case Protocol::Icmp:
      return "icmp";
    case Protocol::Icmpv6:
      return "icmpv6";
    case Protocol::Sctp:
      return "sctp";
  }
  return "?";
}

}  // namespace sluice::config
