#include "k8s/cluster_watch.h"

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

namespace sluice::k8s {

namespace {

// Changes that come close together (a deployment's pods, a namespace's
// policies) are applied together.
constexpr auto kSettle = std::chrono::milliseconds(20);

enum class Kind { Namespaces, Pods, Nodes, Policies };

}  // namespace

struct ClusterWatch::Collection {
  Collection(Kind k, const char* path, const ApiServer& server, const Limits& limits)
      : kind(k), reflector(path, limits), client(server) {}
  Kind kind;
  Reflector reflector;  // the collection's thread's alone
  ApiClient client;
  std::thread thread;
  // Copied from the reflector after each change, under mutex_.
  Reflector::Objects latest;
  bool listed = false;
  Reflector::Counters counters;
  std::string last_problem;
  std::chrono::system_clock::time_point last_problem_at{};
};

// Objects read before, kept while their JSON is the same (same version).
struct ClusterWatch::Parsed {
  template <typename T>
  using Cache = std::map<std::string, std::pair<std::shared_ptr<const nlohmann::json>, T>>;
  Cache<Namespace> namespaces;
  Cache<Pod> pods;
  Cache<Node> nodes;
  Cache<NetworkPolicy> policies;
};

ClusterWatch::ClusterWatch(const ApiServer& server, const Limits& limits, OnSnapshot on_snapshot,
                           OnProblem on_problem)
    : on_snapshot_(std::move(on_snapshot)),
      on_problem_(std::move(on_problem)),
      parsed_(std::make_unique<Parsed>()) {
  const std::pair<Kind, const char*> kinds[] = {
      {Kind::Namespaces, "/api/v1/namespaces"},
      {Kind::Pods, "/api/v1/pods"},
      {Kind::Nodes, "/api/v1/nodes"},
      {Kind::Policies, "/apis/networking.k8s.io/v1/networkpolicies"}};
  for (const auto& [kind, path] : kinds)
    collections_.push_back(std::make_unique<Collection>(kind, path, server, limits));
  for (auto& c : collections_) {
    auto* col = c.get();
    col->thread = std::thread([this, col] {
      auto on_change = [this, col] {
        std::lock_guard lock(mutex_);
        col->latest = col->reflector.objects();
        col->listed = !col->reflector.resource_version().empty();
        col->counters = col->reflector.counters();
        dirty_ = true;
        changed_.notify_one();
      };
      auto on_problem = [this, col](const std::string& what) {
        {
          std::lock_guard lock(mutex_);
          col->last_problem = what;
          col->last_problem_at = std::chrono::system_clock::now();
          col->counters = col->reflector.counters();  // a relist changes no object
        }
        on_problem_(what);
      };
      follow(col->reflector, col->client, stop_, on_change, on_problem);
    });
  }
  publisher_ = std::thread([this] { publish_loop(); });
}

ClusterWatch::~ClusterWatch() {
  stop_ = true;
  for (auto& c : collections_) c->client.cancel();
  changed_.notify_one();
  for (auto& c : collections_) c->thread.join();
  publisher_.join();
}

std::vector<ClusterWatch::Status> ClusterWatch::status() const {
  std::lock_guard lock(mutex_);
  std::vector<Status> out;
  for (const auto& c : collections_)
    out.push_back({c->reflector.collection(), c->listed, c->latest.size(), c->counters,
                   c->last_problem, c->last_problem_at});
  return out;
}

void ClusterWatch::publish_loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] {
        if (stop_) return true;
        for (const auto& c : collections_)
          if (!c->listed) return false;
        return dirty_;
      });
      if (stop_) return;
    }
    std::this_thread::sleep_for(kSettle);
    if (stop_) return;
    on_snapshot_(build());
  }
}

namespace {

// The objects as T, read again only when their JSON changed; one that
// cannot be read is left out and reported once per version.
template <typename Cache, typename Parse>
auto read_all(const Reflector::Objects& objects, Cache& cache, Parse parse,
              const ClusterWatch::OnProblem& on_problem, const char* kind) {
  using T = typename Cache::mapped_type::second_type;
  Cache next;
  std::vector<T> out;
  for (const auto& [key, json] : objects) {
    auto it = cache.find(key);
    if (it != cache.end() && it->second.first == json) {
      next.emplace(key, it->second);
      out.push_back(it->second.second);
      continue;
    }
    try {
      T value = parse(*json);
      next.emplace(key, std::pair{json, value});
      out.push_back(std::move(value));
    } catch (const ObjectError& e) {
      on_problem(std::string(kind) + " " + key + " left out: " + e.what());
    }
  }
  cache = std::move(next);
  return out;
}

}  // namespace

std::shared_ptr<const ClusterSnapshot> ClusterWatch::build() {
  Reflector::Objects objects[4];
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < collections_.size(); ++i) objects[i] = collections_[i]->latest;
    dirty_ = false;
  }
  auto s = std::make_shared<ClusterSnapshot>();
  auto& p = *parsed_;
  s->cluster.namespaces =
      read_all(objects[0], p.namespaces, parse_namespace, on_problem_, "namespace");
  s->cluster.pods = read_all(objects[1], p.pods, parse_pod, on_problem_, "pod");
  s->nodes = read_all(objects[2], p.nodes, parse_node, on_problem_, "node");
  auto policy = [this](const nlohmann::json& j) {
    auto out = parse_network_policy(j);
    if (!out.error.empty())  // read once per version: reported once
      on_problem_("networkpolicy " + out.full_name() +
                  " cannot be read; its pods stay isolated, nothing of it allows: " + out.error);
    return out;
  };
  s->cluster.policies = read_all(objects[3], p.policies, policy, on_problem_, "networkpolicy");
  s->sequence = ++sequence_;
  return s;
}

}  // namespace sluice::k8s
