#include "service/k3s_dirs.h"

#include <toml++/toml.h>

#include <filesystem>

namespace sluice::service {

namespace {

namespace fs = std::filesystem;

constexpr const char* kK3s = "/var/lib/rancher/k3s";
constexpr const char* kContainerdConfig = "/var/lib/rancher/k3s/agent/etc/containerd/config.toml";

// The CRI plugin's cni table: plugins."io.containerd.grpc.v1.cri".cni
// (containerd 1.x), plugins."io.containerd.cri.v1.runtime".cni (2.x).
void read_cni_table(const toml::table& root, CniDirs& out) {
  const auto* plugins = root["plugins"].as_table();
  if (!plugins) return;
  for (const auto& [name, plugin] : *plugins) {
    const auto* cni = plugin.is_table() ? (*plugin.as_table())["cni"].as_table() : nullptr;
    if (!cni) continue;
    if (auto conf = (*cni)["conf_dir"].value<std::string>()) out.conf_dir = *conf;
    if (auto bin = (*cni)["bin_dir"].value<std::string>()) out.bin_dir = *bin;
    if (const auto* dirs = (*cni)["bin_dirs"].as_array(); dirs && !dirs->empty())
      if (auto first = (*dirs)[0].value<std::string>()) out.bin_dir = *first;
  }
}

}  // namespace

CniDirs k3s_cni_dirs(const std::string& root) {
  if (!fs::is_directory(root + kK3s))
    throw std::runtime_error(std::string("no k3s here: ") + root + kK3s + " is not a directory");
  CniDirs out;
  auto config = root + kContainerdConfig;
  if (fs::exists(config)) {
    try {
      read_cni_table(toml::parse_file(config), out);
    } catch (const toml::parse_error& e) {
      throw std::runtime_error(config + ": " + std::string(e.description()));
    }
  }
  if (out.conf_dir.empty()) out.conf_dir = std::string(kK3s) + "/agent/etc/cni/net.d";
  if (out.bin_dir.empty())
    out.bin_dir = fs::is_directory(root + kK3s + "/data/cni")
                      ? std::string(kK3s) + "/data/cni"
                      : std::string(kK3s) + "/data/current/bin";
  out.conf_dir = root + out.conf_dir;
  out.bin_dir = root + out.bin_dir;
  return out;
}

}  // namespace sluice::service
