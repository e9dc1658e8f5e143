// How rules read to people: the words sluicectl, the logs and diffs use.
#pragma once

#include <string>

#include "config/model.h"

namespace sluice::config {

std::string describe_endpoint(
    const Endpoint& ep);  // "any", "set:admins", "10.0.0.0/8, 2001:db8::/32"
// "tcp 22", "udp 1000-2000,53", "icmp type 8", "any", "tcp 22 in lan0"
std::string describe_match(const Rule& r);
// "http GET /api/v1/.* | POST /upload; tls_sni *.example.com; websocket"
std::string describe_l7(const L7Policy& l7);
std::string describe_rule(const Rule& r);            // "input: set:admins -> any tcp 22 accept"
std::string describe_proxy(const ProxySettings& p);  // [proxy], one line
std::string describe_nat(const Masquerade& m);       // "masquerade zone:lan out wan0"
std::string describe_nat(const PortForward& f);  // "forward tcp 80 on wan0 to 192.168.1.10:8080"

}  // namespace sluice::config
