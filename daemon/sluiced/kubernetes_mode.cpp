#include "sluiced/kubernetes_mode.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "common/log.h"
#include "k8s/kubeconfig.h"

namespace sluice::sluiced {

namespace {

std::string this_node(const config::KubernetesSettings& settings) {
  if (!settings.node_name.empty()) return settings.node_name;
  if (const char* env = std::getenv("NODE_NAME"); env && *env) return env;  // the DaemonSet's
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

KubernetesMode::KubernetesMode(const config::KubernetesSettings& settings,
                               const std::string& runtime_dir)
    : node_name_(this_node(settings)), tunnel_(settings.tunnel) {
  auto server =
      settings.kubeconfig.empty()
          ? k8s::in_cluster()
          : k8s::read_kubeconfig(settings.kubeconfig, settings.context, runtime_dir + "/k8s");
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  log(Priority::Notice, "kubernetes: following https://" + server.host + ":" +
                            std::to_string(server.port) + " as node " + node_name_);
  watch_ = std::make_unique<k8s::ClusterWatch>(
      server, k8s::Limits{},
      [this](std::shared_ptr<const k8s::ClusterSnapshot> s) {
        {
          std::lock_guard lock(mutex_);
          latest_ = std::move(s);
        }
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = write(event_fd_, &one, sizeof one);
      },
      [](const std::string& problem) { log(Priority::Warning, "kubernetes: " + problem); });
}

KubernetesMode::~KubernetesMode() {
  watch_.reset();  // its threads end before the descriptor goes
  if (event_fd_ >= 0) close(event_fd_);
}

std::shared_ptr<const k8s::ClusterSnapshot> KubernetesMode::take() {
  std::uint64_t count = 0;
  [[maybe_unused]] auto n = read(event_fd_, &count, sizeof count);
  std::lock_guard lock(mutex_);
  return std::exchange(latest_, nullptr);
}

std::vector<service::WatchedCollection> KubernetesMode::watched() const {
  std::vector<service::WatchedCollection> out;
  for (const auto& c : watch_->status()) {
    auto& w = out.emplace_back();
    w.path = c.collection;
    w.listed = c.listed;
    w.objects = c.objects;
    w.lists = c.counters.lists;
    w.events = c.counters.events;
    w.relists_gone = c.counters.relists_gone;
    w.rejected = c.counters.rejected;
    w.last_problem = c.last_problem;
    if (!c.last_problem.empty())
      w.last_problem_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              c.last_problem_at.time_since_epoch())
                              .count();
  }
  return out;
}

}  // namespace sluice::sluiced
