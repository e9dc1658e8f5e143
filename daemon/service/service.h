// sluiced's job: keep the datapath attached to the configured interfaces,
// enforcing the last valid ruleset, with the host's addresses current.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "config/diagnostics.h"
#include "service/ruleset.h"

namespace sluice::datapath {
class Attachment;
class Datapath;
}  // namespace sluice::datapath

namespace sluice::service {

struct ServiceOptions {
  std::string config_path = "/etc/sluice/sluice.toml";
  std::string pin_dir = "/sys/fs/bpf/sluice";  // empty: nothing pinned
};

class Service {
 public:
  // Loads the BPF programs (taking over the pinned maps of a previous
  // sluiced, conntrack included) and applies the config; throws
  // std::runtime_error (with every config error) when it cannot.
  explicit Service(ServiceOptions options);
  // Detaches from every interface and removes the pins, unless
  // keep_datapath_enforcing() was called.
  ~Service();

  // On stop, leave the programs attached and the maps pinned, enforcing
  // the last ruleset until the next sluiced takes over (upgrades).
  void keep_datapath_enforcing() { keep_ = true; }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Re-reads the config file and applies it atomically. A bad file changes
  // nothing: the running ruleset stays and the errors are returned (and
  // logged).
  config::Diagnostics reload();

  // Attaches to configured interfaces that have appeared, forgets ones
  // that vanished, and reloads the host's addresses. Cheap; called often.
  void refresh();

 private:
  void apply(const Ruleset& ruleset);

  std::string config_path_;
  bool keep_ = false;
  std::unique_ptr<datapath::Datapath> datapath_;
  std::optional<Ruleset> live_;
  std::map<std::string, std::unique_ptr<datapath::Attachment>> attached_;
};

}  // namespace sluice::service
