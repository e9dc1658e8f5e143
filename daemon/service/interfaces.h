// The configured interfaces as the datapath sees them: sluice's programs
// attached to those present, the addresses and routes the config names,
// and what follows from the host's addresses (which are local, the NAT
// tables, the fast path's egress interfaces).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "policy/nat_tables.h"

namespace sluice::datapath {
class Attachment;
class Datapath;
struct LocalAddress;
}  // namespace sluice::datapath

namespace sluice::service {

class Interfaces {
 public:
  explicit Interfaces(datapath::Datapath& datapath);
  ~Interfaces();  // detaches, unless leave_attached()
  Interfaces(const Interfaces&) = delete;
  Interfaces& operator=(const Interfaces&) = delete;

  // Attaches to configured interfaces that have appeared, detaches from
  // ones that vanished or are no longer configured, and brings the host's
  // addresses, NAT and fast path up to date. Cheap; called often.
  void refresh(const config::Config& cfg);

  // Forwarding, addresses and static routes as the config says (routing
  // is the kernel's; sluice only installs what the config names).
  void apply_routing(const config::Config& cfg);

  // Leaves the programs attached when this goes (an upgrade).
  void leave_attached();
  void detach_all();

  std::vector<std::pair<std::string, std::string>> list() const;  // name, XDP mode
  std::size_t count() const { return attached_.size(); }

 private:
  void update_nat(const config::Config& cfg, const std::vector<datapath::LocalAddress>& addrs);
  void update_fast_path(const config::Config& cfg);

  datapath::Datapath& datapath_;
  std::map<std::string, std::unique_ptr<datapath::Attachment>> attached_;
  std::optional<policy::NatTables> nat_;
  std::optional<std::vector<std::uint32_t>> fast_path_;
};

}  // namespace sluice::service
