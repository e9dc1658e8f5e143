#include "cni/plugin.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "cni/pending_deletions.h"
#include "cni/versions.h"

namespace sluice::cni {

namespace {

int report(std::ostream& out, const Error& e, const std::string& version) {
  out << to_json(e, version).dump() << "\n";
  return 1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

nlohmann::json request_for(const Invocation& inv) {
  nlohmann::json args = nlohmann::json::object();
  for (const auto& [k, v] : inv.args) args[k] = v;
  return {{"command", "cni_" + lower(command_name(inv.command))},
          {"network", inv.config.value("name", "")},
          {"container_id", inv.container_id},
          {"ifname", inv.ifname},
          {"netns", inv.netns},
          {"args", args},
          {"config", inv.config}};
}

// sluiced could not be asked at all.
Error unreachable(const Invocation& inv, const std::string& why) {
  switch (inv.command) {
    case Command::Status:
      return {kNotAvailable, "sluiced is not reachable",
              why + "; containers can be neither added nor protected until it runs"};
    case Command::Add:
      return {kTryAgainLater, "sluiced is not reachable",
              why +
                  "; the container is not added, so that it never runs unprotected: retry "
                  "once sluiced runs"};
    default:
      return {kTryAgainLater, "sluiced is not reachable", why + "; retry once sluiced runs"};
  }
}

// sluiced answered with an error.
Error refused(const Invocation& inv, const nlohmann::json& answer) {
  std::string why = answer.value("error", "no reason given");
  if (answer.value("code", 0) == 404)
    why += " (this sluiced is older than the plugin, or was built without container support)";
  if (inv.command == Command::Status) return {kNotAvailable, "sluiced cannot add containers", why};
  int code = answer.value("cni_code", static_cast<int>(kRefusedBySluiced));
  if (code == kNoFreeAddress) return {code, "no free container address", why};
  return {code, "sluiced refused " + std::string(command_name(inv.command)), why};
}

}  // namespace

std::string sluiced_socket(const nlohmann::json& config) {
  auto s = config.is_object() ? config.find("socket") : config.end();
  return s != config.end() && s->is_string() ? s->get<std::string>() : kDefaultSocket;
}

nlohmann::json result_for_version(nlohmann::json result, const std::string& cni_version) {
  result["cniVersion"] = cni_version;
  if (parse_version(cni_version) >= Version{1, 0, 0}) return result;
  // 0.4.0: addresses say their IP version; interfaces and routes know
  // none of the 1.x fields.
  if (result.contains("ips"))
    for (auto& ip : result["ips"])
      ip["version"] = ip.value("address", "").find(':') == std::string::npos ? "4" : "6";
  if (result.contains("interfaces"))
    for (auto& i : result["interfaces"])
      for (const char* key : {"mtu", "socketPath", "pciID"}) i.erase(key);
  if (result.contains("routes"))
    for (auto& r : result["routes"])
      for (const char* key : {"mtu", "advmss", "priority", "table", "scope"}) r.erase(key);
  return result;
}

int run(const Invocation& inv, std::ostream& out, const AskSluiced& ask) {
  if (inv.command == Command::Version) {
    nlohmann::json versions = nlohmann::json::array();
    for (auto v : kSupportedVersions) versions.push_back(v);
    out << nlohmann::json{{"cniVersion", inv.cni_version}, {"supportedVersions", versions}}.dump()
        << "\n";
    return 0;
  }
  for (const char* key : {"socket", "pending_dir"})
    if (auto s = inv.config.find(key); s != inv.config.end() && !s->is_string())
      return report(out,
                    {kInvalidNetworkConfig, "invalid network configuration",
                     std::string("\"") + key + "\" must be a path"},
                    inv.cni_version);
  if ((inv.command == Command::Add || inv.command == Command::Check) &&
      access(inv.netns.c_str(), F_OK) != 0)
    return report(out,
                  {kUnknownContainer, "network namespace not found",
                   "CNI_NETNS: " + inv.netns + " does not exist"},
                  inv.cni_version);

  std::string why;
  auto answer = ask(request_for(inv), why);
  if (!answer && inv.command == Command::Del) {
    // The runtime will not repeat it: keep it for sluiced to finish.
    auto dir = inv.config.value("pending_dir", std::string(kDefaultPendingDir));
    auto problem =
        record_pending_deletion(dir, inv.config.value("name", ""), inv.container_id, inv.ifname);
    if (problem.empty()) return 0;
    return report(out,
                  {kTryAgainLater, "sluiced is not reachable",
                   why + "; and the deletion could not be kept for it either: " + problem},
                  inv.cni_version);
  }
  if (!answer) return report(out, unreachable(inv, why), inv.cni_version);
  if (!answer->value("ok", false)) return report(out, refused(inv, *answer), inv.cni_version);
  if (inv.command == Command::Add)
    out << result_for_version(answer->value("result", nlohmann::json::object()), inv.cni_version)
               .dump()
        << "\n";
  return 0;
}

}  // namespace sluice::cni
