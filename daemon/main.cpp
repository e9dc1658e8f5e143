// sluiced: flags, signals, and the service loop. Everything else lives in
// the subsystem libraries.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "config/diagnostics.h"
#include "net/monitor.h"
#include "service/control.h"
#include "service/log.h"
#include "service/notify.h"
#include "service/ruleset.h"
#include "service/service.h"

namespace po = boost::program_options;
using sluice::service::log;
using sluice::service::notify;
using sluice::service::Priority;

namespace {

constexpr const char* kVersion = SLUICE_VERSION;

// How often interfaces and addresses are re-read when netlink says nothing
// (a safety net: changes are normally acted on when notified).
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

int run(const sluice::service::ServiceOptions& options, bool keep_datapath,
        const std::string& socket_path) {
  const auto& path = options.config_path;
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) {
    // A shell starts background jobs with SIGINT ignored; an ignored signal
    // never reaches signalfd.
    signal(s, SIG_DFL);
    sigaddset(&signals, s);
  }
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  int sfd = signalfd(-1, &signals, SFD_CLOEXEC);
  if (sfd < 0) throw std::system_error(errno, std::generic_category(), "signalfd");

  sluice::service::Service service(options);
  if (keep_datapath) service.keep_datapath_enforcing();
  sluice::service::ControlServer control(socket_path);
  sluice::net::LinkAddressMonitor netlink;
  log(Priority::Notice, "sluiced " + std::string(kVersion) + " running with " + path +
                            ", control socket " + socket_path);
  // Ready: the datapath is attached and enforcing.
  notify("READY=1\nSTATUS=enforcing " + std::to_string(service.live().config.rules.size()) + " rules");

  // systemd restarts a sluiced that stops answering; ping at half the
  // interval it asked for.
  auto watchdog = sluice::service::watchdog_interval();
  auto ping_every = watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2)
                             : std::chrono::milliseconds(kRefreshSeconds * 1000);
  auto wait_ms = static_cast<int>(std::min<long long>(ping_every.count(), kRefreshSeconds * 1000));
  auto next_ping = std::chrono::steady_clock::now();

  auto next_refresh = std::chrono::steady_clock::now();
  for (;;) {
    if (watchdog && std::chrono::steady_clock::now() >= next_ping) {
      notify("WATCHDOG=1");
      next_ping = std::chrono::steady_clock::now() + ping_every;
    }
    pollfd fds[] = {{sfd, POLLIN, 0},
                    {control.fd(), POLLIN, 0},
                    {service.events_fd(), POLLIN, 0},
                    {netlink.fd(), POLLIN, 0}};
    poll(fds, 4, wait_ms);
    if (fds[2].revents & POLLIN) service.handle_events();
    // A link or address changed: attach and learn addresses now.
    if ((fds[3].revents & POLLIN) && netlink.drain()) next_refresh = std::chrono::steady_clock::now();
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si{};
      if (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          log(Priority::Notice, "SIGHUP: reloading " + path);
          notify("RELOADING=1");
          service.reload();
          notify("READY=1\nSTATUS=enforcing " + std::to_string(service.live().config.rules.size()) + " rules");
        } else {
          // A package upgrade asks, through this file next to the socket,
          // that the datapath stay enforcing for the new version.
          auto flag = std::filesystem::path(socket_path).parent_path() / "keep-datapath";
          std::error_code ec;
          if (std::filesystem::remove(flag, ec)) {
            log(Priority::Notice, "stopping for an upgrade (" + flag.string() + ")");
            service.keep_datapath_enforcing();
          } else {
            log(Priority::Notice, "stopping");
          }
          notify("STOPPING=1");
          return 0;
        }
      }
    }
    if (fds[1].revents & POLLIN) control.serve_one(service);
    if (std::chrono::steady_clock::now() >= next_refresh) {
      service.refresh();
      next_refresh = std::chrono::steady_clock::now() + std::chrono::seconds(kRefreshSeconds);
    }
    service.tick();
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
      ("keep-datapath", "on SIGTERM leave the datapath attached and enforcing (for upgrades)")
      ("socket", po::value<std::string>()->default_value("/run/sluice/sluice.sock"),
       "control socket for sluicectl (root only)");
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
    return run({path, vm["pin-dir"].as<std::string>()}, vm.count("keep-datapath") > 0,
               vm["socket"].as<std::string>());
  } catch (const std::exception& e) {
    log(Priority::Error, std::string("cannot start: ") + e.what());
    return 1;
  }
}
