// The typed configuration: what sluice.toml says, validated and resolved
// (sets expanded to prefixes). Produced by config::parse_file/parse_string.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/address.h"

namespace sluice::config {

struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class Chain : std::uint8_t { Input = 0, Forward = 1, Output = 2 };
enum class Action : std::uint8_t { Accept = 0, Drop = 1, Reject = 2 };
// Sctp: only from Kubernetes NetworkPolicy (the TOML has no sctp).
enum class Protocol : std::uint8_t {
  Any = 0,
  Tcp = 6,
  Udp = 17,
  Icmp = 1,
  Icmpv6 = 58,
  Sctp = 132
};

inline constexpr int kChainCount = 3;

struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  bool operator==(const PortRange&) const = default;
};

// Containers chosen by what they are rather than by address: every label
// given must be present with that value, and the container's name must
// match the glob (`*` and `?`; empty: any name). docs/cni.md.
struct Selector {
  std::map<std::string, std::string> labels;
  std::string container;
  bool operator==(const Selector&) const = default;
};

// A rule's from/to. any == true matches every address; otherwise the union
// of prefixes (sets and zones already expanded) and, with a selector, the
// addresses of the containers it selects (policy::resolve_selectors adds
// them before compiling). spelling keeps what the operator wrote, for
// display.
struct Endpoint {
  bool any = true;  // any address
  std::vector<Prefix> prefixes;
  std::vector<std::string> spelling;
  // "zone:NAME" of a zone without networks: the zone's interfaces (the
  // rule's in_interfaces for `from`, out_interfaces for `to`).
  std::vector<std::string> interfaces;
  std::optional<Selector> selector;
};

// One allowed kind of HTTP request of an L7 rule (docs/policy.md "L7
// rules"): every part given must match; an empty part matches anything.
struct HttpMatch {
  std::string method;  // exact, case-sensitive ("GET")
  std::string path;    // RE2, matched against the whole path (no query)
  std::string host;    // name glob ("*.example.com"), case-insensitive, port ignored
  std::map<std::string, std::string> headers;  // name (any case) -> RE2 of the whole value
  Location where;
  bool operator==(const HttpMatch& o) const {
    return method == o.method && path == o.path && host == o.host && headers == o.headers;
  }
};

// A rule's L7 part: flows its L3/L4 part accepts are handed to the proxy,
// which checks each request (http) or the TLS ClientHello (tls_sni).
struct L7Policy {
  std::vector<HttpMatch> http;
  std::vector<std::string> tls_sni;  // server name globs
  bool websocket = false;            // `Upgrade: websocket` on an allowed request
  bool http2_opaque = false;         // HTTP/2 prior knowledge passed through unchecked
  // Per-rule overrides of [proxy]; 0: the [proxy] value.
  std::uint64_t idle_timeout_seconds = 0;
  std::uint64_t upstream_timeout_seconds = 0;
  std::uint64_t max_body_bytes = 0;
  bool operator==(const L7Policy&) const = default;
};

struct Rule {
  std::string name;
  Chain chain = Chain::Input;
  Endpoint from;
  Endpoint to;
  Protocol proto = Protocol::Any;
  std::vector<PortRange> ports;           // empty: any port
  std::optional<std::uint8_t> icmp_type;  // ICMP/ICMPv6 only
  // Arrived on / leaves by one of these [[interface]]s; empty: any.
  std::vector<std::string> in_interfaces;
  std::vector<std::string> out_interfaces;
  Action action = Action::Drop;
  bool log = false;
  bool audit = false;          // mode = "audit": count the verdict, let traffic through
  bool implicit = false;       // made by sluice (anti-lockout), not written as [[rule]]
  std::optional<L7Policy> l7;  // http / tls_sni: steered to the proxy
  // The proxy listener of an L7 rule (SLUICE_MAX_PROXY_SLOTS): given by
  // policy::assign_proxy_slots, stable per rule name; not from the TOML.
  std::uint16_t proxy_slot = 0;
  Location where;
};

// The name of the rule `[api] management` makes.
inline constexpr const char* kAntiLockoutRule = "anti-lockout";

struct Interface {
  std::string name;
  std::string zone;  // empty: no zone
  // Addresses sluice puts on the interface: the host address with the
  // length of its subnet (host bits kept), e.g. 192.0.2.1/24.
  std::vector<Prefix> addresses;
  Location where;
};

struct Zone {
  std::string name;
  std::vector<Prefix> networks;  // addresses "zone:NAME" stands for in rules
  Location where;
};

struct AddressSet {
  std::string name;
  std::vector<Prefix> prefixes;
  Location where;
};

// A static route sluice installs (and removes again when the config no
// longer names it).
struct Route {
  Prefix to;
  std::optional<Prefix> via;  // a host address; empty: directly on dev
  std::string dev;            // empty: the kernel picks it from via
  bool onlink = false;        // via is on dev's link without a subnet saying so (tunnels)
  Location where;
};

// Kubernetes mode's VXLAN tunnel to the other nodes' pods ([kubernetes]
// tunnel = "vxlan"; made from the Node objects, not written in the
// TOML). docs/kubernetes.md, "Nodes".
struct VxlanPeer {
  Prefix underlay;  // the node's InternalIP: where its tunnel packets go
  Prefix vtep;      // its tunnel address (its podCIDR's first address)
  bool operator==(const VxlanPeer&) const = default;
};
struct VxlanTunnel {
  Prefix local;  // this node's InternalIP
  std::vector<VxlanPeer> peers;
  bool operator==(const VxlanTunnel&) const = default;
};
inline constexpr const char* kVxlanDevice = "sluice.vxlan";

// Source NAT to the address of the interface a flow leaves by.
struct Masquerade {
  std::string out_interface;
  Endpoint from;  // sources translated; any by default
  Location where;
};

// Destination NAT: connections to port on the addresses of in_interface
// go to to:to_port instead (also from inside: hairpin).
struct PortForward {
  std::string in_interface;
  Protocol proto = Protocol::Tcp;  // tcp or udp
  std::uint16_t port = 0;
  Prefix to;  // a host address
  std::uint16_t to_port = 0;
  // Only connections to this address of in_interface (a container's
  // published port with a host IP); empty: every address of it.
  std::optional<Prefix> only_address;
  std::string published_by;  // the workload that published it; "" from the TOML
  Location where;
};

// Which interfaces the XDP fast path forwards to. A veth only receives
// redirected frames when its peer has GRO on or an XDP program, which
// sluice cannot see from its side: auto leaves veth to the kernel.
enum class FastPath : std::uint8_t { Auto, On, Off };

struct Prefilter {
  std::string drop_from_set;  // empty: no XDP blocklist
};

enum class FlowEvents { All, Denied };

// [flows]: the flow log in memory and its sqlite history.
struct FlowLog {
  FlowEvents events = FlowEvents::All;  // "denied": only drops, rejects, audit
  std::size_t memory = 10000;           // records kept in memory
  bool history = true;                  // write the sqlite history
  std::uint64_t history_max_age_seconds = 7 * 86400;
  std::uint64_t history_max_mb = 256;  // the oldest records go beyond this
};

// [containers]: the address pools of the containers sluice-cni wires;
// none set: sluiced wires no container.
struct Containers {
  std::optional<Prefix> ipv4;
  std::optional<Prefix> ipv6;
  std::string masquerade;  // out interface of their masqueraded flows; "" none
  Location where;
};

// [[endpoint]]: labels the configuration gives the containers it matches
// (by name glob and, optionally, network), beside the runtime's own.
struct EndpointLabels {
  Selector match;       // match.labels unused: containers are matched by name
  std::string network;  // "" any network
  std::map<std::string, std::string> labels;
  Location where;
};

// [proxy]: the L7 proxy's limits and timeouts (docs/config.md). Its
// defaults are those of a careful reverse proxy; rules may raise the
// timeouts and the body limit for themselves.
struct ProxySettings {
  std::string user = "sluice-proxy";  // runs as this user, no capabilities
  std::size_t max_request_line = 8192;
  std::size_t max_header_bytes = 32768;  // request line + headers
  std::size_t max_headers = 100;
  std::uint64_t max_body_bytes = 64ull << 20;
  std::uint64_t header_timeout_seconds = 10;  // whole request head (slowloris)
  std::uint64_t idle_timeout_seconds = 60;    // keep-alive between requests
  std::uint64_t upstream_connect_timeout_seconds = 5;
  std::uint64_t upstream_timeout_seconds = 60;  // no byte from the server this long
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_source = 256;
  unsigned workers = 0;  // threads; 0: one per CPU
  bool operator==(const ProxySettings&) const = default;
};

// [kubernetes]: sluiced follows a cluster's API server: its pods,
// namespaces, nodes and NetworkPolicies (docs/kubernetes.md). Read when
// sluiced starts.
enum class Tunnel : std::uint8_t { None, Vxlan };
struct KubernetesSettings {
  bool enabled = false;
  std::string kubeconfig;        // "": the pod's service account (in the DaemonSet)
  std::string context;           // "": the kubeconfig's current-context
  std::string node_name;         // "": $NODE_NAME, else the host name
  Tunnel tunnel = Tunnel::None;  // to other nodes' pods: direct routes, or VXLAN
  Location where;
  bool operator==(const KubernetesSettings& o) const {
    return enabled == o.enabled && kubeconfig == o.kubeconfig && context == o.context &&
           node_name == o.node_name && tunnel == o.tunnel;
  }
};

// [conntrack] entries: how many entries the TCP connection tracking
// table holds, other_entries the table of every other protocol: a flow
// takes one, its translation another (docs/config.md). 0: entries sized
// from the host's memory, other_entries half of entries. Read when
// sluiced starts with an empty table (a pinned one keeps its size).
inline constexpr std::int64_t kMinConntrackEntries = 1024;
inline constexpr std::int64_t kMaxConntrackEntries = 16'777'216;
struct ConntrackSettings {
  std::size_t entries = 0;
  std::size_t other_entries = 0;
  bool operator==(const ConntrackSettings&) const = default;
};

struct Config {
  std::vector<Interface> interfaces;
  std::map<std::string, Zone> zones;
  std::map<std::string, AddressSet> sets;
  std::array<Action, kChainCount> chain_defaults{Action::Accept, Action::Accept, Action::Accept};
  std::array<bool, kChainCount> chain_audit{};  // the default is only counted, not enforced
  std::vector<Rule> rules;
  Prefilter prefilter;
  std::vector<Route> routes;
  std::vector<Masquerade> masquerades;
  std::vector<PortForward> port_forwards;
  std::optional<bool> forwarding;  // [router] forwarding; unset: left as it is
  FastPath fast_path = FastPath::Auto;
  FlowLog flows;
  ConntrackSettings conntrack;
  Containers containers;
  std::vector<EndpointLabels> endpoint_labels;
  ProxySettings proxy;
  KubernetesSettings kubernetes;
  std::optional<VxlanTunnel> vxlan;           // from Kubernetes mode only
  std::string api_listen = "127.0.0.1:9090";  // "" turns the API listener off
  std::string api_tls_cert;                   // both set: HTTPS
  std::string api_tls_key;
};

const char* to_string(Chain c);
const char* to_string(Action a);
const char* to_string(Protocol p);

}  // namespace sluice::config
