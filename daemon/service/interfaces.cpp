#include "service/interfaces.h"

#include <net/if.h>

#include <algorithm>
#include <system_error>

#include "common/log.h"
#include "datapath/attachment.h"
#include "datapath/bpf_error.h"
#include "datapath/datapath.h"
#include "net/addresses.h"
#include "net/interface_addresses.h"
#include "net/link_kind.h"
#include "net/routes.h"
#include "net/vxlan.h"

namespace sluice::service {

namespace {

void log_changes(const std::string& what, const net::Changes& c) {
  if (c.added || c.removed)
    log(Priority::Notice, what + ": " + std::to_string(c.added) + " added, " +
                              std::to_string(c.removed) + " removed, " + std::to_string(c.kept) +
                              " kept");
  for (const auto& p : c.problems) log(Priority::Error, what + ": " + p);
}

const char* mode_name(datapath::XdpMode m) {
  return m == datapath::XdpMode::Native ? "native" : "generic";
}

}  // namespace

Interfaces::Interfaces(datapath::Datapath& datapath) : datapath_(datapath) {}

Interfaces::~Interfaces() = default;

void Interfaces::leave_attached() {
  for (auto& [name, a] : attached_) a->leave_attached();
}

void Interfaces::detach_all() { attached_.clear(); }

std::vector<std::pair<std::string, std::string>> Interfaces::list() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, a] : attached_) out.push_back({name, mode_name(a->xdp_mode())});
  return out;
}

void Interfaces::apply_routing(const config::Config& cfg) {
  // The tunnel device first, then addresses: a route's next hop must be
  // on a connected subnet (or onlink on an existing device).
  log_changes("vxlan", net::reconcile_vxlan(cfg.vxlan));
  log_changes("addresses", net::reconcile_interface_addresses(cfg.interfaces));
  if (cfg.forwarding) {
    auto problem = net::set_forwarding(*cfg.forwarding);
    if (!problem.empty()) log(Priority::Error, problem);
  }
  log_changes("routes", net::reconcile_routes(cfg.routes));
}

void Interfaces::refresh(const config::Config& cfg) {
  bool changed = false;
  // Forget interfaces that are gone or no longer configured.
  for (auto it = attached_.begin(); it != attached_.end();) {
    bool configured = std::any_of(cfg.interfaces.begin(), cfg.interfaces.end(),
                                  [&](const config::Interface& i) { return i.name == it->first; });
    bool present =
        if_nametoindex(it->first.c_str()) == static_cast<unsigned>(it->second->ifindex());
    if (configured && present) {
      ++it;
      continue;
    }
    log(Priority::Notice,
        "detaching from " + it->first + (present ? " (no longer configured)" : " (gone)"));
    it = attached_.erase(it);
    changed = true;
  }
  bool appeared = false;
  for (const auto& itf : cfg.interfaces) {
    if (attached_.count(itf.name) || if_nametoindex(itf.name.c_str()) == 0) continue;
    try {
      auto a = std::make_unique<datapath::Attachment>(datapath_, itf.name);
      log(Priority::Notice, "attached to " + itf.name + " (XDP " + mode_name(a->xdp_mode()) +
                                ", tc ingress and egress)");
      attached_[itf.name] = std::move(a);
      appeared = true;
    } catch (const datapath::BpfError& e) {
      log(Priority::Error, e.what());
    }
  }
  // An interface that came after the apply gets its addresses and routes
  // now, and rules naming it find it by its (new) ifindex.
  if (appeared) apply_routing(cfg);
  if (appeared || changed) {
    try {
      datapath_.refresh_interface_ids();
    } catch (const datapath::BpfError& e) {
      log(Priority::Error, e.what());
    }
  }
  try {
    std::vector<datapath::LocalAddress> addrs;
    for (const auto& a : net::local_addresses())
      addrs.push_back({a.family, a.addr, a.ifindex, a.prefix_length});
    datapath_.set_local_addresses(addrs);
    update_nat(cfg, addrs);
    update_fast_path(cfg);
  } catch (const std::system_error& e) {
    log(Priority::Error, std::string("reading local addresses: ") + e.what());
  } catch (const datapath::BpfError& e) {
    log(Priority::Error, std::string("updating addresses and NAT: ") + e.what());
  }
}

void Interfaces::update_nat(const config::Config& cfg,
                            const std::vector<datapath::LocalAddress>& addrs) {
  std::vector<policy::InterfaceState> interfaces;
  for (const auto& [name, a] : attached_) {
    policy::InterfaceState st{name, static_cast<std::uint32_t>(a->ifindex()), {}};
    for (const auto& la : addrs) {
      if (la.ifindex != st.ifindex) continue;
      config::Prefix p;
      p.family = la.family;
      p.addr = la.addr;
      p.length = la.prefix_length;
      st.addresses.push_back(p);
    }
    interfaces.push_back(std::move(st));
  }
  auto tables = policy::compile_nat(cfg, interfaces);
  if (nat_ && *nat_ == tables) return;
  datapath_.set_nat(tables);
  nat_ = std::move(tables);
}

void Interfaces::update_fast_path(const config::Config& cfg) {
  std::vector<std::uint32_t> fast;
  for (const auto& [name, a] : attached_) {
    if (cfg.fast_path == config::FastPath::Off) break;
    // A vxlan device takes no XDP-redirected frames (no ndo_xdp_xmit).
    auto kind = net::link_kind(a->ifindex());
    if (kind == "vxlan" || (cfg.fast_path == config::FastPath::Auto && kind == "veth")) continue;
    fast.push_back(static_cast<std::uint32_t>(a->ifindex()));
  }
  if (fast_path_ && fast == *fast_path_) return;
  datapath_.set_fast_path_interfaces(fast);
  fast_path_ = fast;
  log(Priority::Info, "XDP fast path forwards to " + std::to_string(fast.size()) + " interface(s)");
}

}  // namespace sluice::service
