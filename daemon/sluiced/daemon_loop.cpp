#include "sluiced/daemon_loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include "api/server.h"
#include "common/log.h"
#include "datapath/conntrack_counts.h"
#include "k8s/network_policy.h"
#include "k8s/node_routes.h"
#include "net/monitor.h"
#include "sluiced/control.h"
#include "sluiced/kubernetes_mode.h"
#include "sluiced/notify.h"
#include "store/database.h"
#include "store/state_store.h"

namespace sluice::sluiced {

using service::Service;

namespace {

// How often interfaces and addresses are re-read when netlink says nothing
// (a safety net: changes are normally acted on when notified).
constexpr int kRefreshSeconds = 1;

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// SIGHUP, SIGTERM and SIGINT as a file descriptor the loop polls.
Fd signal_fd() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) {
    // A shell starts background jobs with SIGINT ignored; an ignored signal
    // never reaches signalfd.
    signal(s, SIG_DFL);
    sigaddset(&signals, s);
  }
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  Fd sfd(signalfd(-1, &signals, SFD_CLOEXEC));
  if (sfd.get() < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
  return sfd;
}

// The state database: config history, audit log, users, tokens and
// sessions, shared by the service and the API. sluiced runs on without it
// (the firewall does not depend on it); error says why it is missing.
struct StateDatabase {
  std::unique_ptr<store::StateStore> store;
  std::string error;
};

StateDatabase open_state(const std::string& path) {
  StateDatabase db;
  if (path.empty()) {
    db.error = "sluiced runs without a database (--database \"\")";
    return db;
  }
  try {
    db.store = std::make_unique<store::StateStore>(path);
  } catch (const store::Error& e) {
    db.error = e.what();
    log(Priority::Error,
        std::string("config history, audit log and API users unavailable: ") + e.what());
  }
  return db;
}

// The API is a convenience: when it cannot start, the firewall runs on.
std::unique_ptr<api::ApiServer> start_api(Service& service, std::mutex& service_lock,
                                          const StateDatabase& state,
                                          const DaemonOptions& options) {
  const auto& cfg = service.live().config;
  if (cfg.api_listen.empty()) return nullptr;
  try {
    auto api = std::make_unique<api::ApiServer>(
        service, service_lock,
        api::ApiOptions{state.store.get(), state.error, cfg.api_listen, cfg.api_tls_cert,
                        cfg.api_tls_key, options.webui_dir});
    log(Priority::Notice, std::string("API listening on ") +
                              (cfg.api_tls_cert.empty() ? "http://" : "https://") + cfg.api_listen);
    return api;
  } catch (const std::exception& e) {
    log(Priority::Error, std::string("API not started: ") + e.what());
    return nullptr;
  }
}

void notify_ready(const Service& service) {
  notify("READY=1\nSTATUS=enforcing " + std::to_string(service.live().config.rules.size()) +
         " rules");
}

// A signal that arrived: SIGHUP reloads; the others stop (true). A package
// upgrade asks, through a file next to the socket, that the datapath stay
// enforcing for the new version.
bool handle_signal(int sfd, Service& service, std::mutex& service_lock,
                   const DaemonOptions& options) {
  signalfd_siginfo si{};
  if (read(sfd, &si, sizeof si) != sizeof si) return false;
  if (si.ssi_signo == SIGHUP) {
    log(Priority::Notice, "SIGHUP: reloading " + options.service.config_path);
    notify("RELOADING=1");
    std::lock_guard lock(service_lock);
    service.reload("SIGHUP");
    notify_ready(service);
    return false;
  }
  auto flag = std::filesystem::path(options.socket_path).parent_path() / "keep-datapath";
  std::error_code ec;
  if (std::filesystem::remove(flag, ec)) {
    log(Priority::Notice, "stopping for an upgrade (" + flag.string() + ")");
    service.keep_datapath_enforcing();
  } else {
    log(Priority::Notice, "stopping");
  }
  notify("STOPPING=1");
  return true;
}

// The cluster's pods as identities: the pod's labels, its namespace's name
// (io.kubernetes.pod.namespace) and the namespace's labels that have no
// prefix of their own (as namespace.sluice/KEY). docs/kubernetes.md.
std::vector<policy::ClusterPod> cluster_pods(const k8s::Cluster& c) {
  std::map<std::string, const k8s::Labels*> ns_labels;
  for (const auto& ns : c.namespaces) ns_labels[ns.name] = &ns.labels;
  std::vector<policy::ClusterPod> out;
  for (const auto& pod : c.pods) {
    if (pod.host_network || pod.finished || pod.addresses.empty()) continue;
    policy::ClusterPod p{pod.name_space + "/" + pod.name, pod.labels, pod.addresses};
    p.labels["io.kubernetes.pod.namespace"] = pod.name_space;
    if (auto it = ns_labels.find(pod.name_space); it != ns_labels.end())
      for (const auto& [k, v] : *it->second)
        if (k.find('/') == std::string::npos) p.labels["namespace.sluice/" + k] = v;
    out.push_back(std::move(p));
  }
  return out;
}

// A new state of the cluster: NetworkPolicy's rules and the routes to the
// other nodes made outside the lock (the API goes on meanwhile), then
// applied.
void apply_cluster(KubernetesMode& kube, Service& service, std::mutex& service_lock) {
  auto snapshot = kube.take();
  if (!snapshot) return;
  auto started = std::chrono::steady_clock::now();
  service::Rulesets::ClusterPart part;
  part.rules = k8s::network_policy_rules(snapshot->cluster);
  part.pods = cluster_pods(snapshot->cluster);
  part.sequence = snapshot->sequence;
  part.node = kube.node_name();
  part.policies = snapshot->cluster.policies.size();
  auto nodes = k8s::node_network(snapshot->nodes, kube.node_name(), kube.tunnel());
  part.routes = std::move(nodes.routes);
  part.vxlan = std::move(nodes.vxlan);
  part.interfaces = std::move(nodes.interfaces);
  part.pool_v4 = nodes.pool_v4;
  part.pool_v6 = nodes.pool_v6;
  if (kube.problems_changed(nodes.problems))
    for (const auto& p : nodes.problems) log(Priority::Warning, "kubernetes: " + p);
  auto rules = part.rules.size(), routes = part.routes.size();
  std::lock_guard lock(service_lock);
  auto what = "kubernetes: state " + std::to_string(snapshot->sequence) + " (" +
              std::to_string(snapshot->cluster.pods.size()) + " pods, " +
              std::to_string(snapshot->cluster.policies.size()) + " network policies)";
  try {
    service.set_cluster(std::move(part));
  } catch (const std::exception& e) {
    log(Priority::Error, what + " not applied: " + e.what() + "; the rules before stay");
    return;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  log(Priority::Info, what + ": " + std::to_string(rules) + " rules applied in " +
                          std::to_string(ms) + " ms, " + std::to_string(routes) +
                          " routes to other nodes");
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  Fd sfd = signal_fd();
  auto state = open_state(options.service.database_path);
  Service service(options.service, state.store.get(), state.error);
  // The loop and the API's threads take turns with the service.
  std::mutex service_lock;
  if (options.keep_datapath) service.keep_datapath_enforcing();
  ControlServer control(options.socket_path, options.socket_group);
  auto api = start_api(service, service_lock, state, options);
  std::unique_ptr<KubernetesMode> kubernetes;
  if (const auto& k = service.live().config.kubernetes; k.enabled)
    kubernetes = std::make_unique<KubernetesMode>(
        k, std::filesystem::path(options.socket_path).parent_path().string());
  net::LinkAddressMonitor netlink;
  log(Priority::Notice, "sluiced " + std::string(SLUICE_VERSION) + " running with " +
                            options.service.config_path + ", control socket " +
                            options.socket_path);
  notify_ready(service);  // the datapath is attached and enforcing

  // systemd restarts a sluiced that stops answering; ping at half the
  // interval it asked for.
  auto watchdog = watchdog_interval();
  auto ping_every = watchdog ? std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog / 2)
                             : std::chrono::milliseconds(kRefreshSeconds * 1000);
  // The datapath does not wake us for every event (SLUICE_EVENT_POLL_MS).
  auto wait_ms = static_cast<int>(std::min<long long>(ping_every.count(), SLUICE_EVENT_POLL_MS));
  auto next_ping = std::chrono::steady_clock::now();
  auto next_refresh = std::chrono::steady_clock::now();
  bool more_events = false;
  for (;;) {
    if (watchdog && std::chrono::steady_clock::now() >= next_ping) {
      notify("WATCHDOG=1");
      next_ping = std::chrono::steady_clock::now() + ping_every;
    }
    pollfd fds[] = {
        {sfd.get(), POLLIN, 0},           {control.fd(), POLLIN, 0},
        {service.events_fd(), POLLIN, 0}, {netlink.fd(), POLLIN, 0},
        {service.proxy_fd(), POLLIN, 0},  {kubernetes ? kubernetes->fd() : -1, POLLIN, 0}};
    poll(fds, 6, more_events || service.sweeping() ? 0 : wait_ms);
    // Every turn, woken or not: the datapath wakes us only when its ring
    // fills up. Without the service lock (FlowPipeline::handle_events).
    more_events = service.handle_events();
    // A link or address changed: attach and learn addresses now.
    if ((fds[3].revents & POLLIN) && netlink.drain())
      next_refresh = std::chrono::steady_clock::now();
    if ((fds[0].revents & POLLIN) && handle_signal(sfd.get(), service, service_lock, options))
      return 0;
    if (fds[1].revents & POLLIN) control.serve_one(service, service_lock);
    if (fds[4].revents & (POLLIN | POLLHUP | POLLERR)) {
      std::lock_guard lock(service_lock);
      service.handle_proxy();
    }
    if (fds[5].revents & POLLIN) apply_cluster(*kubernetes, service, service_lock);
    // One chunk of the conntrack sweep per turn (no lock while reading),
    // so that nothing waits for a walk of the whole table.
    if (service.sweep_due()) {
      auto step = service.sweep_step();
      std::lock_guard lock(service_lock);
      service.sweep_record(std::move(step));
    }
    bool refresh_due = std::chrono::steady_clock::now() >= next_refresh;
    // Counted without the lock (milliseconds of the kernel walking every
    // bucket), so that API requests never wait for it.
    std::optional<datapath::ConntrackTableCounts> counted;
    if (refresh_due) counted = service.count_conntrack_tables();
    std::lock_guard lock(service_lock);
    if (refresh_due) {
      service.conntrack_counted(*counted);
      service.refresh();
      if (kubernetes) service.set_watched(kubernetes->watched());
      next_refresh = std::chrono::steady_clock::now() + std::chrono::seconds(kRefreshSeconds);
    }
    service.tick();
  }
}

}  // namespace sluice::sluiced
