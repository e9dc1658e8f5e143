#include "config/describe.h"

namespace sluice::config {

std::string describe_endpoint(const Endpoint& ep) {
  if (ep.any) return "any";
  std::string s;
  if (!ep.spelling.empty()) {
    for (const auto& w : ep.spelling) s += (s.empty() ? "" : ", ") + w;
    return s;
  }
  for (const auto& p : ep.prefixes) s += (s.empty() ? "" : ", ") + p.to_string();
  return s;
}

std::string describe_match(const Rule& r) {
  std::string s = to_string(r.proto);
  if (r.icmp_type) s += " type " + std::to_string(*r.icmp_type);
  if (!r.ports.empty()) {
    s += " ";
    for (std::size_t i = 0; i < r.ports.size(); ++i) {
      if (i) s += ",";
      s += std::to_string(r.ports[i].first);
      if (r.ports[i].last != r.ports[i].first) s += "-" + std::to_string(r.ports[i].last);
    }
  }
  // Interfaces named by key (a zone of interfaces shows in from/to).
  auto names = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& n : v) out += (out.empty() ? "" : ",") + n;
    return out;
  };
  if (!r.in_interfaces.empty() && r.from.interfaces.empty()) s += " in " + names(r.in_interfaces);
  if (!r.out_interfaces.empty() && r.to.interfaces.empty()) s += " out " + names(r.out_interfaces);
  return s;
}

std::string describe_l7(const L7Policy& l7) {
  std::string s;
  for (const auto& m : l7.http) {
    std::string one = m.method.empty() ? "any method" : m.method;
    if (!m.path.empty()) one += " " + m.path;
    if (!m.host.empty()) one += " host " + m.host;
    for (const auto& [name, value] : m.headers) one += " " + name + ": " + value;
    s += (s.empty() ? "http " : " | ") + one;
  }
  if (!l7.tls_sni.empty()) {
    s += s.empty() ? "tls_sni " : "; tls_sni ";
    for (std::size_t i = 0; i < l7.tls_sni.size(); ++i) s += (i ? "," : "") + l7.tls_sni[i];
  }
  if (l7.websocket) s += "; websocket";
  if (l7.http2_opaque) s += "; http2 opaque";
  if (l7.idle_timeout_seconds) s += "; idle " + std::to_string(l7.idle_timeout_seconds) + " s";
  if (l7.upstream_timeout_seconds)
    s += "; upstream " + std::to_string(l7.upstream_timeout_seconds) + " s";
  if (l7.max_body_bytes) s += "; body <= " + std::to_string(l7.max_body_bytes) + " B";
  return s;
}

std::string describe_rule(const Rule& r) {
  return std::string(to_string(r.chain)) + ": " + describe_endpoint(r.from) + " -> " +
         describe_endpoint(r.to) + " " + describe_match(r) + " " + to_string(r.action) +
         (r.l7 ? " [" + describe_l7(*r.l7) + "]" : "") + (r.audit ? " (audit)" : "") +
         (r.log ? " log" : "");
}

std::string describe_proxy(const ProxySettings& p) {
  auto n = [](auto v) { return std::to_string(v); };
  return "user " + p.user + ", request line " + n(p.max_request_line) + " B, head " +
         n(p.max_header_bytes) + " B / " + n(p.max_headers) + " headers, body " +
         n(p.max_body_bytes) + " B, timeouts head " + n(p.header_timeout_seconds) + " s idle " +
         n(p.idle_timeout_seconds) + " s connect " + n(p.upstream_connect_timeout_seconds) +
         " s upstream " + n(p.upstream_timeout_seconds) + " s, connections " +
         n(p.max_connections) + " (" + n(p.max_connections_per_source) + " per source), " +
         (p.workers ? n(p.workers) + " worker threads" : "a worker thread per CPU");
}

std::string describe_nat(const Masquerade& m) {
  return "masquerade " + describe_endpoint(m.from) + " out " + m.out_interface;
}

std::string describe_nat(const PortForward& f) {
  // A host address prints without a length.
  std::string to = f.to.family == Family::V6 ? "[" + f.to.to_string() + "]" : f.to.to_string();
  return std::string("forward ") + to_string(f.proto) + " " + std::to_string(f.port) + " on " +
         f.in_interface + " to " + to + ":" + std::to_string(f.to_port);
}

}  // namespace sluice::config
