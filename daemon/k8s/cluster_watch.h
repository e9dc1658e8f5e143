// Follows the four collections Kubernetes mode needs (namespaces, pods,
// nodes, network policies), each on its own thread with its own
// connection, and hands the whole cluster, read into typed objects, to
// whoever applies it: once every collection has been listed (never a
// half-known cluster: pods without their policies would be open), then
// after every change, bursts folded into one. It never touches the
// datapath. docs/kubernetes.md ("In sluiced").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "k8s/api_client.h"
#include "k8s/limits.h"
#include "k8s/network_policy.h"
#include "k8s/objects.h"
#include "k8s/reflector.h"

namespace sluice::k8s {

struct ClusterSnapshot {
  Cluster cluster;
  std::vector<Node> nodes;
  std::uint64_t sequence = 0;  // 1 for the first
};

class ClusterWatch {
 public:
  using OnSnapshot = std::function<void(std::shared_ptr<const ClusterSnapshot>)>;
  using OnProblem = std::function<void(const std::string&)>;

  // Both callbacks run on the watch's threads.
  ClusterWatch(const ApiServer& server, const Limits& limits, OnSnapshot on_snapshot,
               OnProblem on_problem);
  ~ClusterWatch();  // stops following and joins the threads
  ClusterWatch(const ClusterWatch&) = delete;
  ClusterWatch& operator=(const ClusterWatch&) = delete;

  struct Status {
    std::string collection;
    bool listed = false;
    std::size_t objects = 0;
    Reflector::Counters counters;
    std::string last_problem;  // what went wrong last ("" when nothing yet), and when
    std::chrono::system_clock::time_point last_problem_at{};
  };
  std::vector<Status> status() const;

 private:
  struct Collection;
  struct Parsed;
  void publish_loop();
  std::shared_ptr<const ClusterSnapshot> build();

  OnSnapshot on_snapshot_;
  OnProblem on_problem_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;  // guards the collections' latest objects, dirty_
  std::condition_variable changed_;
  bool dirty_ = false;
  std::uint64_t sequence_ = 0;
  std::vector<std::unique_ptr<Collection>> collections_;
  std::unique_ptr<Parsed> parsed_;  // the publisher's: objects read before, by version
  std::thread publisher_;
};

}  // namespace sluice::k8s
