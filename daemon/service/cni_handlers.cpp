#include "service/cni_handlers.h"

#include <nlohmann/json.hpp>

#include "net/link_stats.h"
#include "service/cni_install.h"
#include "service/command_handlers.h"
#include "service/containers.h"
#include "service/k3s_dirs.h"
#include "service/port_mappings.h"
#include "service/requests.h"
#include "service/service.h"
#include "store/state_store.h"

namespace sluice::service {

namespace {

using json = nlohmann::json;

constexpr int kInvalidNetworkConfig = kCniInvalidConfig;

json answer(const CniOutcome& o) {
  if (o.ok) return {{"ok", true}, {"result", o.result}};
  json r = refusal(o.error, 409);
  r["cni_code"] = o.cni_code;
  return r;
}

json malformed(const std::string& why) {
  json r = refusal(why, 400);
  r["cni_code"] = kInvalidNetworkConfig;
  return r;
}

std::string text(const json& req, const char* key) {
  auto it = req.find(key);
  return it != req.end() && it->is_string() ? it->get<std::string>() : "";
}

// The attachment and namespace of a request; false (with why) when one of
// them is missing.
bool read_call(const json& req, bool needs_container, CniCall& call, std::string& why) {
  call.attachment = {text(req, "network"), text(req, "container_id"), text(req, "ifname")};
  call.netns = text(req, "netns");
  if (auto c = req.find("config"); c != req.end() && c->is_object()) call.config = *c;
  if (auto a = req.find("args"); a != req.end() && a->is_object())
    for (const auto& [k, v] : a->items())
      if (v.is_string()) call.args[k] = v.get<std::string>();
  if (call.attachment.network.empty()) why = "the request names no network";
  if (needs_container && (call.attachment.container_id.empty() || call.attachment.ifname.empty()))
    why = "the request names no container_id and ifname";
  return why.empty();
}

template <typename Run>
json serve(const json& req, bool needs_container, Run run) {
  CniCall call;
  std::string why;
  if (!read_call(req, needs_container, call, why)) return malformed(why);
  return answer(run(call));
}

}  // namespace

json cni_add(Service& s, const json& req, const Caller&) {
  return serve(req, true, [&](const CniCall& call) {
    if (call.netns.empty()) return CniOutcome::failure(kInvalidNetworkConfig, "no netns");
    return s.containers().add(call, s.live().config, s.container_pools());
  });
}

json cni_del(Service& s, const json& req, const Caller&) {
  return serve(req, true, [&](const CniCall& call) { return s.containers().del(call); });
}

json cni_check(Service& s, const json& req, const Caller&) {
  return serve(req, true, [&](const CniCall& call) {
    return s.containers().check(call, s.container_pools());
  });
}

// The attachments the runtime still has ("cni.dev/valid-attachments"):
// everything else of the network goes. Nothing when GC is disabled.
json cni_gc(Service& s, const json& req, const Caller&) {
  return serve(req, false, [&](const CniCall& call) {
    if (call.config.value("disableGC", false)) return CniOutcome{};
    std::vector<store::Attachment> valid;
    auto list = call.config.find("cni.dev/valid-attachments");
    if (list != call.config.end() && !list->is_array())
      return CniOutcome::failure(kInvalidNetworkConfig,
                                 "\"cni.dev/valid-attachments\" must be an array");
    if (list != call.config.end())
      for (const auto& a : *list) {
        if (!a.is_object() || !a.value("containerID", json()).is_string() ||
            !a.value("ifname", json()).is_string())
          return CniOutcome::failure(kInvalidNetworkConfig,
                                     "each valid attachment needs a containerID and an ifname");
        valid.push_back({call.attachment.network, a["containerID"], a["ifname"]});
      }
    return s.containers().gc(call.attachment.network, valid);
  });
}

json endpoints(Service& s, const json&, const Caller&) {
  json out = json::array();
  for (const auto& e : s.containers().list()) {
    json addrs = json::array();
    for (const auto& a : e.addresses) addrs.push_back(a.to_string());
    // The host end's counters: what it received came from the container.
    auto st = net::link_stats(e.host_end).value_or(net::LinkStats{});
    const auto* identified = s.rulesets().identities().find(
        e.attachment.network, e.attachment.container_id, e.attachment.ifname);
    out.push_back({{"network", e.attachment.network},
                   {"container_id", e.attachment.container_id},
                   {"ifname", e.attachment.ifname},
                   {"host_end", e.host_end},
                   {"addresses", addrs},
                   {"attached", e.attached},
                   {"name", e.name},
                   {"ports", ports_to_json(e.ports)},
                   {"labels", identified ? json(identified->labels) : json::object()},
                   {"identity", identified ? identified->identity : 0},
                   {"packets_from", st.rx_packets},
                   {"bytes_from", st.rx_bytes},
                   {"packets_to", st.tx_packets},
                   {"bytes_to", st.tx_bytes}});
  }
  return {{"ok", true}, {"endpoints", out}};
}

// sluice-cni and its network configuration where runtimes look.
json cni_install(Service& s, const json& req, const Caller& caller) {
  CniInstallRequest r;
  r.conf_dir = "/etc/cni/net.d";
  r.bin_dir = default_cni_bin_dir();
  r.network = "sluice";
  if (auto k3s = req.find("k3s"); k3s != req.end()) {  // k3s's containerd's directories
    if (!k3s->is_boolean()) return refusal("k3s must be true or false", 400);
    if (k3s->get<bool>()) {
      try {
        auto dirs = k3s_cni_dirs();
        r.conf_dir = dirs.conf_dir;
        r.bin_dir = dirs.bin_dir;
      } catch (const std::exception& e) {
        return refusal(std::string("--k3s: ") + e.what(), 400);
      }
    }
  }
  for (auto [key, field] :
       {std::pair{"conf_dir", &r.conf_dir}, {"bin_dir", &r.bin_dir}, {"network", &r.network}}) {
    auto it = req.find(key);
    if (it == req.end()) continue;
    if (!it->is_string() || it->get<std::string>().size() > 4096)
      return refusal(std::string(key) + " must be a string (at most 4096 bytes)", 400);
    *field = it->get<std::string>();
  }
  r.plugin_source = default_cni_plugin_source();
  r.socket = s.control_socket();
  r.pending_dir = s.cni_pending_dir();
  auto outcome = install_cni(r);
  if (!outcome.error.empty()) return refusal(outcome.error, 400);
  if (auto* state = s.state(); state && !outcome.written.empty()) {
    std::string files;
    for (const auto& f : outcome.written) files += (files.empty() ? "" : ", ") + f;
    state->audit(caller.who, "cni install", files);
  }
  json warnings = json::array();
  const auto pools = s.container_pools();
  if (!pools.ipv4 && !pools.ipv6)
    warnings.push_back(
        "the configuration has no [containers] pool: ADD fails until one is applied");
  return {{"ok", true},
          {"conflist", outcome.conflist},
          {"plugin", outcome.plugin},
          {"written", outcome.written},
          {"warnings", warnings}};
}

json cni_status(Service& s, const json& req, const Caller&) {
  return serve(req, false,
               [&](const CniCall&) { return s.containers().status(s.container_pools()); });
}

}  // namespace sluice::service
