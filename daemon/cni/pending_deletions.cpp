#include "cni/pending_deletions.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <system_error>

namespace sluice::cni {

namespace fs = std::filesystem;

namespace {

// A file name for the attachment: the container id (letters, digits and
// "_.-" by the spec) and a hash of the rest.
std::string file_name(const std::string& network, const std::string& container_id,
                      const std::string& ifname) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (const auto* part : {&network, &ifname}) {
    for (unsigned char c : *part) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return container_id + "-" + hex + ".json";
}

}  // namespace

std::string record_pending_deletion(const std::string& dir, const std::string& network,
                                    const std::string& container_id, const std::string& ifname) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "creating " + dir + ": " + ec.message();
  auto path = fs::path(dir) / file_name(network, container_id, ifname);
  auto tmp = path.string() + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json{{"network", network}, {"container_id", container_id}, {"ifname", ifname}}
               .dump()
        << "\n";
    out.flush();
    if (!out) return "writing " + tmp;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return "writing " + path.string();
  }
  return "";
}

std::vector<PendingDeletion> pending_deletions(const std::string& dir) {
  std::vector<PendingDeletion> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    PendingDeletion p{j.value("network", ""), j.value("container_id", ""), j.value("ifname", ""),
                      entry.path().string()};
    if (!p.network.empty() && !p.container_id.empty() && !p.ifname.empty()) out.push_back(p);
  }
  return out;
}

}  // namespace sluice::cni
