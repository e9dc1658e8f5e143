// The addresses sluice's IPAM gives containers, kept in the state database
// so that they outlive restarts of sluiced and of the host: one per
// (network, container, interface) and family, the lowest free one of the
// [containers] pool, never the same twice. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/address.h"

namespace sluice::store {

class Database;

// What the CNI spec keys a container's attachment by.
struct Attachment {
  std::string network;
  std::string container_id;
  std::string ifname;
  bool operator==(const Attachment&) const = default;
};

struct ContainerAddress {
  Attachment attachment;
  config::Prefix address;  // a host address (/32 or /128)
  std::int64_t created_ms = 0;
  std::string mac;            // of the container's end, once wired ("" before)
  std::string name;           // the workload's name, once wired
  std::string labels = "{}";  // the runtime's labels, a JSON object
  std::string ports = "[]";   // its published ports, a JSON array
};

class ContainerAddresses {
 public:
  // Opens (creating, migrating) the state database at path. Throws
  // store::Error.
  explicit ContainerAddresses(const std::string& path);
  ~ContainerAddresses();

  // The attachment's address in pool: the one it holds already, else the
  // lowest free one (not the network's first address, nor an IPv4
  // network's last). nullopt when the pool has none left.
  std::optional<config::Prefix> allocate(const Attachment& a, const config::Prefix& pool);

  // Records what the attachment was wired as: its container end's MAC
  // address, the workload's name, its runtime labels (JSON object) and
  // published ports (JSON array).
  void set_wiring(const Attachment& a, const std::string& mac, const std::string& name,
                  const std::string& labels, const std::string& ports);

  // Releases the attachment's addresses (every family): how many it held.
  std::size_t release(const Attachment& a);

  // Releases every address of network held by an attachment not in keep
  // (the CNI GC): those released.
  std::vector<ContainerAddress> release_all_but(const std::string& network,
                                                const std::vector<Attachment>& keep);

  std::vector<ContainerAddress> list() const;

 private:
  mutable std::mutex mutex_;
  std::unique_ptr<Database> db_;
};

}  // namespace sluice::store
