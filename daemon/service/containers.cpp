#include "service/containers.h"

#include <net/if.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cni/pending_deletions.h"
#include "common/log.h"
#include "config/selector.h"
#include "datapath/attachment.h"
#include "datapath/datapath.h"
#include "net/container_link.h"
#include "service/port_mappings.h"

namespace sluice::service {

struct Containers::Endpoint {
  store::Attachment attachment;
  std::unique_ptr<datapath::Attachment> programs;
};

namespace {

std::string host_name_of(const store::Attachment& a) {
  return net::host_link_name(a.network, a.container_id, a.ifname);
}

std::string describe(const store::Attachment& a) {
  return "container " + a.container_id + " (" + a.ifname + ") of network " + a.network;
}

// "10.89.0.2/32": the address with its length, as CNI results spell it.
std::string with_length(const config::Prefix& p) {
  return p.to_string().find('/') == std::string::npos
             ? p.to_string() + "/" + std::to_string(p.length)
             : p.to_string();
}

// What the datapath checks the container's packets against.
sluice_endpoint endpoint_of(const std::string& mac, const std::vector<config::Prefix>& addrs) {
  sluice_endpoint e{};
  unsigned m[6] = {};
  if (std::sscanf(mac.c_str(), "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
    throw std::runtime_error("the container end's MAC address '" + mac + "' cannot be read");
  for (int i = 0; i < 6; ++i) e.mac[i] = static_cast<std::uint8_t>(m[i]);
  for (const auto& a : addrs) {
    if (a.family == config::Family::V4) {
      e.families |= SLUICE_ENDPOINT_IPV4;
      std::memcpy(e.addr4, a.addr.data(), 4);
    } else {
      e.families |= SLUICE_ENDPOINT_IPV6;
      std::memcpy(e.addr6, a.addr.data(), 16);
    }
  }
  return e;
}

nlohmann::json result_of(const CniCall& call, const std::string& host,
                         const net::ContainerLink& link, const std::vector<config::Prefix>& addrs) {
  nlohmann::json ips = nlohmann::json::array(), routes = nlohmann::json::array();
  for (const auto& a : addrs) {
    bool v4 = a.family == config::Family::V4;
    const char* gw = v4 ? net::kContainerGateway4 : net::kContainerGateway6;
    ips.push_back({{"address", with_length(a)}, {"gateway", gw}, {"interface", 1}});
    routes.push_back({{"dst", v4 ? "0.0.0.0/0" : "::/0"}, {"gw", gw}});
  }
  return {
      {"interfaces",
       {{{"name", host}, {"mac", link.host_mac}},
        {{"name", call.attachment.ifname}, {"mac", link.container_mac}, {"sandbox", call.netns}}}},
      {"ips", ips},
      {"routes", routes},
      {"dns", nlohmann::json::object()}};
}

// A container id as a name: a 64-hex-digit id by its first 12 digits, as
// runtimes show it; a readable id (containerd's namespace-name) whole.
std::string name_of_id(const std::string& id) {
  bool hex = id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
  return hex ? id.substr(0, 12) : id;
}

// The workload's name: the runtime's (podman and Kubernetes runtimes pass
// K8S_POD_NAME), else its container id.
std::string workload_name(const CniCall& call) {
  auto it = call.args.find("K8S_POD_NAME");
  if (it != call.args.end() && !it->second.empty()) return it->second;
  return name_of_id(call.attachment.container_id);
}

// The labels the runtime passed, where the CNI conventions put them
// (config "args": {"cni": {"labels": [{"key": K, "value": V}, ...]}}).
// Labels that break the label syntax are left out, with a warning.
config::Labels runtime_labels(const CniCall& call) {
  config::Labels out;
  const auto& c = call.config;
  if (!c.contains("args") || !c["args"].is_object() || !c["args"].contains("cni") ||
      !c["args"]["cni"].is_object())
    return out;
  auto list = c["args"]["cni"].value("labels", nlohmann::json::array());
  if (!list.is_array()) return out;
  for (const auto& l : list) {
    if (!l.is_object() || !l.value("key", nlohmann::json()).is_string() ||
        !l.value("value", nlohmann::json()).is_string())
      continue;
    auto key = l["key"].get<std::string>(), value = l["value"].get<std::string>();
    auto why = config::label_key_error(key);
    if (why.empty()) why = config::label_value_error(value);
    if (!why.empty()) {
      log(Priority::Warning, describe(call.attachment) + ": label '" + key + "' left out: " + why);
      continue;
    }
    out[key] = value;
  }
  return out;
}

config::Labels labels_from_text(const std::string& text) {
  config::Labels out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object())
    for (const auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

}  // namespace

Containers::Containers(datapath::Datapath& datapath, const std::string& database_path,
                       std::string pending_dir)
    : datapath_(datapath), pending_dir_(std::move(pending_dir)) {
  if (database_path.empty()) {
    addresses_error_ = "sluiced runs without a state database";
    return;
  }
  try {
    addresses_ = std::make_unique<store::ContainerAddresses>(database_path);
  } catch (const std::exception& e) {
    addresses_error_ = e.what();
    return;
  }
  // Containers wired before a restart: their programs attached again, and
  // what their packets must come from.
  for (const auto& view : list()) {
    const auto& host = view.host_end;
    if (endpoints_.count(host) || if_nametoindex(host.c_str()) == 0) continue;
    const auto& row = view;
    try {
      auto ep = std::make_unique<Endpoint>(Endpoint{row.attachment, nullptr});
      ep->programs =
          std::make_unique<datapath::Attachment>(datapath_, host, datapath::Hooks::TcOnly);
      auto ifindex = static_cast<std::uint32_t>(ep->programs->ifindex());
      endpoints_[host] = std::move(ep);
      if (view.mac.empty())  // wired by an ADD that did not finish: unknown
        log(Priority::Warning, describe(row.attachment) +
                                   ": its MAC address is not known; no "
                                   "anti-spoofing until its next ADD");
      else
        datapath_.set_endpoint(ifindex, endpoint_of(view.mac, view.addresses));
      log(Priority::Notice, "took back " + describe(row.attachment) + " on " + host);
    } catch (const std::exception& e) {
      log(Priority::Error, "cannot take back " + describe(row.attachment) + ": " + e.what());
    }
  }
  finish_pending_deletions();
}

void Containers::finish_pending_deletions() {
  if (pending_dir_.empty()) return;
  for (const auto& p : cni::pending_deletions(pending_dir_)) {
    store::Attachment a{p.network, p.container_id, p.ifname};
    try {
      forget(a);
      std::remove(p.file.c_str());
      changed();
      log(Priority::Notice, "finished the DEL of " + describe(a) + " made while sluiced was away");
    } catch (const std::exception& e) {
      log(Priority::Error, "the DEL of " + describe(a) + " kept for later: " + e.what());
    }
  }
}

Containers::~Containers() = default;

std::vector<EndpointView> Containers::list() const {
  std::vector<EndpointView> out;
  if (!addresses_) return out;
  for (const auto& row : addresses_->list()) {
    if (out.empty() || !(out.back().attachment == row.attachment)) {
      auto host = host_name_of(row.attachment);
      out.push_back({row.attachment,
                     host,
                     {},
                     row.mac,
                     // A host end gone with its container's namespace (a
                     // runtime that sent no DEL) is not attached, whatever
                     // sluiced holds: the next GC releases it.
                     endpoints_.count(host) > 0 && if_nametoindex(host.c_str()) != 0,
                     row.name,
                     labels_from_text(row.labels),
                     ports_from_text(row.ports)});
    }
    out.back().addresses.push_back(row.address);
  }
  return out;
}

std::vector<policy::Workload> Containers::workloads() const {
  std::vector<policy::Workload> out;
  for (auto& e : list()) {
    const auto& a = e.attachment;
    out.push_back({a.network, a.container_id, a.ifname,
                   e.name.empty() ? name_of_id(a.container_id) : e.name, e.runtime_labels,
                   e.addresses, e.ports});
  }
  return out;
}

void Containers::leave_attached() {
  for (auto& [host, ep] : endpoints_) ep->programs->leave_attached();
}

void Containers::detach_all() { endpoints_.clear(); }

CniOutcome Containers::status(const config::Containers& pools) const {
  if (!pools.ipv4 && !pools.ipv6)
    return CniOutcome::failure(kCniNotAvailable,
                               "no [containers] ipv4 or ipv6 pool in the configuration: sluiced "
                               "wires no container");
  if (!addresses_)
    return CniOutcome::failure(kCniNotAvailable,
                               "the state database that keeps container addresses is "
                               "unavailable: " +
                                   addresses_error_);
  return {};
}

CniOutcome Containers::add(const CniCall& call, const config::Config& cfg,
                           const config::Containers& pools) {
  finish_pending_deletions();
  if (auto s = status(pools); !s.ok) return CniOutcome::failure(kCniRefused, s.error);
  auto mappings = read_port_mappings(call.config);
  if (!mappings.error.empty()) return CniOutcome::failure(kCniInvalidConfig, mappings.error);
  policy::Workload candidate{call.attachment.network,
                             call.attachment.container_id,
                             call.attachment.ifname,
                             workload_name(call),
                             {},
                             {},
                             mappings.ports};
  if (auto clash = policy::published_port_conflict(cfg, workloads(), candidate); !clash.empty())
    return CniOutcome::failure(kCniRefused, clash);
  std::vector<config::Prefix> addrs;
  for (const auto& pool : {pools.ipv4, pools.ipv6}) {
    if (!pool) continue;
    auto a = addresses_->allocate(call.attachment, *pool);
    if (!a) {
      addresses_->release(call.attachment);
      return CniOutcome::failure(kCniNoAddress, "no free address left in " + pool->to_string() +
                                                    " ([containers] in the configuration)");
    }
    addrs.push_back(*a);
  }
  auto host = host_name_of(call.attachment);
  // What an interrupted earlier ADD of this attachment may have left.
  unwire(host);
  net::ContainerLink link;
  try {
    link = net::add_container_link({call.netns, call.attachment.ifname, host, addrs});
  } catch (const std::exception& e) {
    addresses_->release(call.attachment);
    return CniOutcome::failure(kCniRefused, e.what());
  }
  auto ep = std::make_unique<Endpoint>(Endpoint{call.attachment, nullptr});
  try {
    ep->programs = std::make_unique<datapath::Attachment>(datapath_, host, datapath::Hooks::TcOnly);
    datapath_.set_endpoint(static_cast<std::uint32_t>(link.host_ifindex),
                           endpoint_of(link.container_mac, addrs));
  } catch (const std::exception& e) {
    ep.reset();  // detaches
    net::remove_container_link(host);
    addresses_->release(call.attachment);
    return CniOutcome::failure(kCniRefused,
                               "attaching sluice's programs to " + host + ": " + e.what());
  }
  endpoints_[host] = std::move(ep);
  addresses_->set_wiring(call.attachment, link.container_mac, candidate.name,
                         nlohmann::json(runtime_labels(call)).dump(),
                         ports_to_text(candidate.ports));
  // The rules that select it, and its identity, before it is reported
  // added: a container never runs under rules that do not know it.
  changed();
  std::string listed;
  for (const auto& a : addrs) listed += (listed.empty() ? "" : ", ") + a.to_string();
  log(Priority::Notice, "wired " + describe(call.attachment) + ": " + listed + " via " + host);
  CniOutcome out;
  out.result = result_of(call, host, link, addrs);
  return out;
}

bool Containers::unwire(const std::string& host) {
  // The endpoint entry goes by the link's ifindex, whether or not this
  // sluiced attached to it: a stale entry would judge whatever interface
  // gets that ifindex next.
  auto ifindex = if_nametoindex(host.c_str());
  endpoints_.erase(host);  // detaches the programs
  if (ifindex) datapath_.remove_endpoint(ifindex);
  return net::remove_container_link(host);
}

void Containers::forget(const store::Attachment& a) {
  if (unwire(host_name_of(a))) log(Priority::Notice, "unwired " + describe(a));
  if (addresses_) addresses_->release(a);
}

CniOutcome Containers::del(const CniCall& call) {
  finish_pending_deletions();
  try {
    forget(call.attachment);
  } catch (const std::exception& e) {
    changed();
    return CniOutcome::failure(kCniRefused, e.what());
  }
  changed();
  return {};
}

CniOutcome Containers::check(const CniCall& call, const config::Containers& pools) {
  auto host = host_name_of(call.attachment);
  if (!endpoints_.count(host))
    return CniOutcome::failure(kCniRefused, describe(call.attachment) + " is not wired by sluiced");
  if (if_nametoindex(host.c_str()) == 0)
    return CniOutcome::failure(
        kCniRefused, "the host end " + host + " of " + describe(call.attachment) + " is gone");
  std::size_t held = 0;
  if (addresses_)
    for (const auto& row : addresses_->list()) held += row.attachment == call.attachment;
  std::size_t wanted = (pools.ipv4 ? 1 : 0) + (pools.ipv6 ? 1 : 0);
  if (held != wanted)
    return CniOutcome::failure(kCniRefused, describe(call.attachment) + " holds " +
                                                std::to_string(held) + " address(es), not " +
                                                std::to_string(wanted));
  return {};
}

CniOutcome Containers::gc(const std::string& network, const std::vector<store::Attachment>& valid) {
  finish_pending_deletions();
  if (!addresses_) return CniOutcome::failure(kCniRefused, addresses_error_);
  std::vector<store::Attachment> stale;
  for (const auto& gone : addresses_->release_all_but(network, valid))
    stale.push_back(gone.attachment);
  for (const auto& [host, ep] : endpoints_) {  // wired, yet holding no address
    const auto& a = ep->attachment;
    if (a.network == network && std::find(valid.begin(), valid.end(), a) == valid.end() &&
        std::find(stale.begin(), stale.end(), a) == stale.end())
      stale.push_back(a);
  }
  std::string problems;
  for (const auto& a : stale) {
    try {
      forget(a);
    } catch (const std::exception& e) {
      problems += (problems.empty() ? "" : "; ") + describe(a) + ": " + e.what();
    }
  }
  if (!stale.empty()) changed();
  if (!problems.empty()) return CniOutcome::failure(kCniRefused, problems);
  return {};
}

}  // namespace sluice::service
