// The containers sluice-cni asks sluiced to wire (CNI mode): each one's
// link to the host, its addresses from sluice's IPAM (kept in the state
// database) and sluice's programs on its host end, so that the rules,
// flows and counters cover it like any other interface's traffic.
// docs/cni.md.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/model.h"
#include "policy/identities.h"
#include "store/container_addresses.h"

namespace sluice::datapath {
class Attachment;
class Datapath;
}  // namespace sluice::datapath

namespace sluice::service {

// One request of the plugin, as it passes it on.
struct CniCall {
  store::Attachment attachment;
  std::string netns;
  nlohmann::json config;                    // the network configuration the runtime gave
  std::map<std::string, std::string> args;  // CNI_ARGS
};

// What sluiced answers: ok with the result (ADD), or the CNI error code
// and what to fix.
struct CniOutcome {
  bool ok = true;
  int cni_code = 0;
  std::string error;
  nlohmann::json result;

  static CniOutcome failure(int code, std::string why) { return {false, code, std::move(why), {}}; }
};

// Our codes beside the spec's (sluice-cni reports them as they are).
inline constexpr int kCniRefused = 100;
inline constexpr int kCniNoAddress = 101;
inline constexpr int kCniNotAvailable = 50;
inline constexpr int kCniInvalidConfig = 7;  // the spec's

// A wired container as sluicectl endpoints and the API show it.
struct EndpointView {
  store::Attachment attachment;
  std::string host_end;
  std::vector<config::Prefix> addresses;
  std::string mac;        // of the container's end
  bool attached = false;  // sluice's programs on the host end
  std::string name;       // the workload's name
  config::Labels runtime_labels;
  std::vector<policy::PublishedPort> ports;
};

class Containers {
 public:
  // database_path: the state database (the IPAM's rows). Containers wired
  // before a restart are taken back: their programs attached again.
  // pending_dir: where sluice-cni keeps the DELs it could not send
  // (cni/pending_deletions.h); they are finished now and before every
  // request.
  Containers(datapath::Datapath& datapath, const std::string& database_path,
             std::string pending_dir);
  ~Containers();
  Containers(const Containers&) = delete;
  Containers& operator=(const Containers&) = delete;

  // cfg: the live configuration (its pools, and port forwards a published
  // port may not clash with).
  CniOutcome add(const CniCall& call, const config::Config& cfg, const config::Containers& pools);
  CniOutcome del(const CniCall& call);
  CniOutcome check(const CniCall& call, const config::Containers& pools);
  // Releases everything of network not in valid (CNI GC); keeps going past
  // a failure and reports them all.
  CniOutcome gc(const std::string& network, const std::vector<store::Attachment>& valid);
  // Whether ADD can be served.
  CniOutcome status(const config::Containers& pools) const;

  // Every container with an address, by network, container and interface.
  std::vector<EndpointView> list() const;
  // The same as policy sees them.
  std::vector<policy::Workload> workloads() const;

  // Called after every change to the set of containers (in the request
  // that made it, before its answer).
  void on_change(std::function<void()> changed) { changed_ = std::move(changed); }

  void leave_attached();
  void detach_all();
  std::size_t count() const { return endpoints_.size(); }

 private:
  struct Endpoint;
  bool unwire(const std::string& host_end);  // programs, endpoint entry, link
  void forget(const store::Attachment& a);   // unwire, release the addresses
  void finish_pending_deletions();

  datapath::Datapath& datapath_;
  std::unique_ptr<store::ContainerAddresses> addresses_;  // null: no state database
  std::string addresses_error_;
  std::string pending_dir_;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_;  // by host end
  std::function<void()> changed_;
  void changed() {
    if (changed_) changed_();
  }
};

}  // namespace sluice::service
