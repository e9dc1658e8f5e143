#include "service/cni_install.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sluice::service {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPluginName = "sluice-cni";

// The CNI spec's network names: a letter or digit, then letters, digits,
// '_', '.', '-'.
bool valid_network_name(const std::string& n) {
  if (n.empty() || n.size() > 64 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes text to path in one step (a runtime reads the old file or the
// new one), with mode. Returns an error or "".
std::string replace_file(const fs::path& path, const std::string& text, mode_t mode) {
  fs::path tmp = path;
  tmp += ".sluice-new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return "cannot write " + tmp.string();
  }
  if (chmod(tmp.c_str(), mode) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return "cannot replace " + path.string();
  }
  return {};
}

// A conflist or conf of another file that defines the same network: the
// runtime would see the name twice.
std::string defined_elsewhere(const fs::path& dir, const std::string& network,
                              const fs::path& ours) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto ext = entry.path().extension();
    if (entry.path() == ours || (ext != ".conflist" && ext != ".conf" && ext != ".json")) continue;
    auto j = nlohmann::json::parse(read_all(entry.path()), nullptr, false);
    if (j.is_object() && j.value("name", "") == network) return entry.path().string();
  }
  return {};
}

}  // namespace

std::string default_cni_bin_dir() {
  std::error_code ec;
  return fs::is_directory("/usr/lib/cni", ec) ? "/usr/lib/cni" : "/opt/cni/bin";
}

std::string default_cni_plugin_source() {
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = self.parent_path() / kPluginName;
    if (fs::exists(beside, ec)) return beside.string();
  }
  return std::string("/usr/lib/cni/") + kPluginName;
}

CniInstallOutcome install_cni(const CniInstallRequest& r) {
  CniInstallOutcome out;
  for (const auto& [what, dir] : {std::pair{"conf_dir", r.conf_dir}, {"bin_dir", r.bin_dir}})
    if (dir.empty() || dir[0] != '/') {
      out.error = std::string(what) + " must be an absolute path, not '" + dir + "'";
      return out;
    }
  if (!valid_network_name(r.network)) {
    out.error = "network '" + r.network +
                "' is not a CNI network name (a letter or digit, then letters, digits, '_', '.', "
                "'-'; at most 64)";
    return out;
  }
  std::error_code ec;
  if (access(r.plugin_source.c_str(), X_OK) != 0) {
    out.error = "the plugin " + r.plugin_source + " is not there or not executable";
    return out;
  }
  fs::path conflist = fs::path(r.conf_dir) / ("10-" + r.network + ".conflist");
  fs::path plugin = fs::path(r.bin_dir) / kPluginName;
  out.conflist = conflist.string();
  out.plugin = plugin.string();
  if (auto other = defined_elsewhere(r.conf_dir, r.network, conflist); !other.empty()) {
    out.error = "network '" + r.network + "' is already defined in " + other +
                "; choose another name (--network) or remove that file";
    return out;
  }
  for (const auto& dir : {r.conf_dir, r.bin_dir}) {
    fs::create_directories(dir, ec);
    if (ec) {
      out.error = "cannot create " + dir + ": " + ec.message();
      return out;
    }
  }
  nlohmann::json conf = {{"cniVersion", "1.0.0"},
                         {"name", r.network},
                         {"plugins",
                          {{{"type", kPluginName},
                            {"socket", r.socket},
                            {"pending_dir", r.pending_dir},
                            {"capabilities", {{"portMappings", true}}}}}}};
  std::string text = conf.dump(2) + "\n";
  // The plugin first: a conflist must never name a plugin that is not there.
  bool same = fs::exists(plugin, ec) && fs::equivalent(plugin, r.plugin_source, ec);
  if (!same && read_all(plugin) != read_all(r.plugin_source)) {
    if (auto err = replace_file(plugin, read_all(r.plugin_source), 0755); !err.empty()) {
      out.error = err;
      return out;
    }
    out.written.push_back(plugin.string());
  }
  if (read_all(conflist) != text) {
    if (auto err = replace_file(conflist, text, 0644); !err.empty()) {
      out.error = err;
      return out;
    }
    out.written.push_back(conflist.string());
  }
  return out;
}

}  // namespace sluice::service
