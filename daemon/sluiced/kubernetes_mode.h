// Kubernetes mode in sluiced ([kubernetes] enabled): where the API server
// is (a kubeconfig, or the pod's service account), the watch of the
// cluster, and each new state of it handed to the event loop through a
// file descriptor it polls. The loop translates it into rules and applies
// them (docs/kubernetes.md, "In sluiced").
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/model.h"
#include "k8s/cluster_watch.h"
#include "service/cluster_watch_report.h"

namespace sluice::sluiced {

class KubernetesMode {
 public:
  // runtime_dir: where a kubeconfig's inline certificates are written.
  // Throws (k8s::ConnectionError) when the API server cannot be set up.
  KubernetesMode(const config::KubernetesSettings& settings, const std::string& runtime_dir);
  ~KubernetesMode();
  KubernetesMode(const KubernetesMode&) = delete;
  KubernetesMode& operator=(const KubernetesMode&) = delete;

  int fd() const { return event_fd_; }  // readable when a new state is in
  // The latest state (null when none is new); clears fd's readiness.
  std::shared_ptr<const k8s::ClusterSnapshot> take();
  // How each collection's watch is doing now.
  std::vector<service::WatchedCollection> watched() const;
  const std::string& node_name() const { return node_name_; }
  config::Tunnel tunnel() const { return tunnel_; }
  // Whether these differ from the problems passed last (log only news).
  bool problems_changed(const std::vector<std::string>& problems) {
    if (problems == last_problems_) return false;
    last_problems_ = problems;
    return true;
  }

 private:
  int event_fd_ = -1;
  std::string node_name_;
  config::Tunnel tunnel_;
  std::vector<std::string> last_problems_;
  std::mutex mutex_;
  std::shared_ptr<const k8s::ClusterSnapshot> latest_;
  std::unique_ptr<k8s::ClusterWatch> watch_;  // last: stopped first
};

}  // namespace sluice::sluiced
