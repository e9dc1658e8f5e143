#include "service/service.h"

#include <net/if.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>

#include "datapath/attachment.h"
#include "datapath/bpf_error.h"
#include "datapath/datapath.h"
#include "net/addresses.h"
#include "service/log.h"

namespace sluice::service {

Service::Service(std::string config_path) : config_path_(std::move(config_path)) {
  auto loaded = load_ruleset(config_path_);
  if (!loaded.ruleset) throw std::runtime_error(config::format(loaded.diagnostics));
  datapath_ = std::make_unique<datapath::Datapath>();
  apply(*loaded.ruleset);
  refresh();
}

Service::~Service() {
  attached_.clear();  // detach before the programs go
  log(Priority::Notice, "detached from every interface");
}

void Service::apply(const Ruleset& ruleset) {
  auto stats = datapath_->apply(ruleset.compiled);
  datapath_->release_idle_generation();
  live_ = ruleset;
  log(Priority::Notice, "applied " + config_path_ + ": " + std::to_string(ruleset.config.rules.size()) +
                            " rules, " + std::to_string(stats.class_entries + stats.group_entries + stats.decision_entries) +
                            " map entries, generation " + std::to_string(stats.generation));
}

config::Diagnostics Service::reload() {
  auto loaded = load_ruleset(config_path_);
  if (!loaded.ruleset) {
    for (const auto& d : loaded.diagnostics) log(Priority::Error, d.to_string());
    log(Priority::Error, "reload refused: " + std::to_string(loaded.diagnostics.size()) +
                             " error(s); the running ruleset stays");
    return loaded.diagnostics;
  }
  try {
    apply(*loaded.ruleset);
  } catch (const datapath::BpfError& e) {
    log(Priority::Error, std::string("reload failed, the running ruleset stays: ") + e.what());
    return {{{config_path_, 0, 0}, "", e.what()}};
  }
  refresh();
  return {};
}

void Service::refresh() {
  // Forget interfaces that are gone or no longer configured.
  for (auto it = attached_.begin(); it != attached_.end();) {
    const auto& itfs = live_->config.interfaces;
    bool configured = std::any_of(itfs.begin(), itfs.end(),
                                  [&](const config::Interface& i) { return i.name == it->first; });
    bool present = if_nametoindex(it->first.c_str()) == static_cast<unsigned>(it->second->ifindex());
    if (configured && present) {
      ++it;
      continue;
    }
    log(Priority::Notice, "detaching from " + it->first + (present ? " (no longer configured)" : " (gone)"));
    it = attached_.erase(it);
  }
  for (const auto& itf : live_->config.interfaces) {
    if (attached_.count(itf.name) || if_nametoindex(itf.name.c_str()) == 0) continue;
    try {
      auto a = std::make_unique<datapath::Attachment>(*datapath_, itf.name);
      log(Priority::Notice, "attached to " + itf.name + " (XDP " +
                                (a->xdp_mode() == datapath::XdpMode::Native ? "native" : "generic") +
                                ", tc ingress and egress)");
      attached_[itf.name] = std::move(a);
    } catch (const datapath::BpfError& e) {
      log(Priority::Error, e.what());
    }
  }
  try {
    datapath_->set_local_addresses(net::local_addresses());
  } catch (const std::system_error& e) {
    log(Priority::Error, std::string("reading local addresses: ") + e.what());
  }
}

}  // namespace sluice::service
