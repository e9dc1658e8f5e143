// sluiced: flags and wiring. The event loop is service/daemon_loop; everything
// else lives in the subsystem libraries.

#include <grp.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "common/log.h"
#include "config/diagnostics.h"
#include "datapath/bpf_error.h"
#include "policy/ruleset.h"
#include "service/cni_install.h"
#include "service/k3s_dirs.h"
#include "sluiced/daemon_loop.h"

namespace po = boost::program_options;
using sluice::log;
using sluice::Priority;

namespace {

constexpr const char* kVersion = SLUICE_VERSION;

int check(const std::string& path, const std::vector<std::string>& list_dirs) {
  auto loaded = sluice::policy::load_ruleset(path, list_dirs);
  if (!loaded.ruleset) {
    std::cerr << sluice::config::format(loaded.diagnostics);
    return 1;
  }
  std::cout << path << ": ok, " << loaded.ruleset->config.rules.size() << " rules\n";
  return 0;
}

// --install-cni: sluice-cni and its network configuration (naming the
// control socket sluiced will listen on) put in place, then exit: the
// DaemonSet's init step, before sluiced runs (docs/k3s.md).
int install_cni(const std::string& where, const std::string& socket, const std::string& database) {
  namespace svc = sluice::service;
  svc::CniInstallRequest r;
  try {
    if (where == "k3s") {
      auto dirs = svc::k3s_cni_dirs();
      r.conf_dir = dirs.conf_dir;
      r.bin_dir = dirs.bin_dir;
    } else if (where == "default") {
      r.conf_dir = "/etc/cni/net.d";
      r.bin_dir = svc::default_cni_bin_dir();
    } else {
      std::cerr << "sluiced: --install-cni takes k3s or default, not '" << where << "'\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "sluiced: --install-cni k3s: " << e.what() << "\n";
    return 1;
  }
  r.network = "sluice";
  r.plugin_source = svc::default_cni_plugin_source();
  r.socket = socket;
  r.pending_dir = (std::filesystem::path(database).parent_path() / "cni-pending").string();
  auto outcome = svc::install_cni(r);
  if (!outcome.error.empty()) {
    std::cerr << "sluiced: --install-cni: " << outcome.error << "\n";
    return 1;
  }
  std::cout << outcome.conflist << "\n" << outcome.plugin << "\n";
  for (const auto& f : outcome.written) std::cout << "written: " << f << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("sluiced options");
  opts.add_options()("help,h", "show this help")("version", "print the version")(
      "config,c", po::value<std::string>()->default_value("/etc/sluice/sluice.toml"),
      "configuration file")("check", "validate the configuration and exit (0 valid, 1 invalid)")(
      "pin-dir", po::value<std::string>()->default_value("/sys/fs/bpf/sluice"),
      "bpffs directory for the maps that outlive the daemon (conntrack, rules)")(
      "keep-datapath", "on SIGTERM leave the datapath attached and enforcing (for upgrades)")(
      "socket", po::value<std::string>()->default_value("/run/sluice/sluice.sock"),
      "control socket for sluicectl (root only)")(
      "database", po::value<std::string>()->default_value("/var/lib/sluice/sluice.db"),
      "sqlite file for the flow history, config history and audit log (\"\" for none)")(
      "webui", po::value<std::string>()->default_value("/usr/share/sluice/webui"),
      "directory of the web UI's files, served by the API")(
      "socket-group", po::value<std::string>(),
      "a group whose members may use the control socket's read-only commands (status, rules, "
      "flows...)")("proxy", po::value<std::string>()->default_value(""),
                   "the L7 proxy executable (default: sluice-proxy beside sluiced)")(
      "list-dir", po::value<std::vector<std::string>>()->default_value({}, ""),
      "a directory address lists (sets with file = ...) may be read from, besides the config "
      "file's own (repeatable)")(
      "install-cni", po::value<std::string>(),
      "put sluice-cni and its network configuration (naming --socket) where the runtime looks "
      "and exit: \"k3s\" (k3s's containerd's directories) or \"default\"");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "sluiced: " << e.what() << "\n" << opts;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << "usage: sluiced [--config FILE] [--check] [--keep-datapath]\n\n" << opts;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "sluiced " << kVersion << "\n";
    return 0;
  }
  const auto path = vm["config"].as<std::string>();
  const auto list_dirs = vm["list-dir"].as<std::vector<std::string>>();
  if (vm.count("check")) return check(path, list_dirs);
  if (vm.count("install-cni"))
    return install_cni(vm["install-cni"].as<std::string>(), vm["socket"].as<std::string>(),
                       vm["database"].as<std::string>());
  try {
    sluice::sluiced::DaemonOptions options;
    options.service.config_path = path;
    options.service.pin_dir = vm["pin-dir"].as<std::string>();
    options.service.database_path = vm["database"].as<std::string>();
    options.service.list_dirs = list_dirs;
    options.socket_path = vm["socket"].as<std::string>();
    options.service.control_socket = options.socket_path;
    options.service.proxy_binary = vm["proxy"].as<std::string>();
    options.keep_datapath = vm.count("keep-datapath") > 0;
    options.webui_dir = vm["webui"].as<std::string>();
    if (vm.count("socket-group")) {
      auto name = vm["socket-group"].as<std::string>();
      const group* g = getgrnam(name.c_str());
      if (!g) {
        std::cerr << "sluiced: --socket-group: no group named '" << name << "'\n";
        return 2;
      }
      options.socket_group = g->gr_gid;
    }
    return sluice::sluiced::run_daemon(options);
  } catch (const sluice::datapath::UnfitEnvironment& e) {
    log(Priority::Error, std::string("cannot start: ") + e.what());
    return sluice::datapath::kExitUnfitEnvironment;
  } catch (const std::exception& e) {
    log(Priority::Error, std::string("cannot start: ") + e.what());
    return 1;
  }
}
