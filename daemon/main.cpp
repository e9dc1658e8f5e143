// sluiced: flags, signals, and the service loop. Everything else lives in
// the subsystem libraries.
#include <signal.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "config/diagnostics.h"
#include "service/log.h"
#include "service/ruleset.h"
#include "service/service.h"

namespace po = boost::program_options;
using sluice::service::log;
using sluice::service::Priority;

namespace {

constexpr const char* kVersion = SLUICE_VERSION;

// How often interfaces and addresses are re-read while nothing happens.
constexpr int kRefreshSeconds = 1;

int check(const std::string& path) {
  auto loaded = sluice::service::load_ruleset(path);
  if (!loaded.ruleset) {
    std::cerr << sluice::config::format(loaded.diagnostics);
    return 1;
  }
  std::cout << path << ": ok, " << loaded.ruleset->config.rules.size() << " rules\n";
  return 0;
}

int run(const sluice::service::ServiceOptions& options, bool keep_datapath) {
  const auto& path = options.config_path;
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  sigprocmask(SIG_BLOCK, &signals, nullptr);

  sluice::service::Service service(options);
  if (keep_datapath) service.keep_datapath_enforcing();
  log(Priority::Notice, "sluiced " + std::string(kVersion) + " running with " + path);
  for (;;) {
    timespec wait{kRefreshSeconds, 0};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP) {
      log(Priority::Notice, "SIGHUP: reloading " + path);
      service.reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      log(Priority::Notice, "stopping");
      return 0;
    } else {
      service.refresh();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description opts("sluiced options");
  opts.add_options()
      ("help,h", "show this help")
      ("version", "print the version")
      ("config,c", po::value<std::string>()->default_value("/etc/sluice/sluice.toml"), "configuration file")
      ("check", "validate the configuration and exit (0 valid, 1 invalid)")
      ("pin-dir", po::value<std::string>()->default_value("/sys/fs/bpf/sluice"),
       "bpffs directory for the maps that outlive the daemon (conntrack, rules)")
      ("keep-datapath", "on SIGTERM leave the datapath attached and enforcing (for upgrades)");
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
  if (vm.count("check")) return check(path);
  try {
    return run({path, vm["pin-dir"].as<std::string>()}, vm.count("keep-datapath") > 0);
  } catch (const std::exception& e) {
    log(Priority::Error, std::string("cannot start: ") + e.what());
    return 1;
  }
}
