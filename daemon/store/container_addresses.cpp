#include "store/container_addresses.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "store/database.h"

namespace sluice::store {

namespace {

config::Prefix host(config::Family f, const std::array<std::uint8_t, 16>& addr) {
  config::Prefix p;
  p.family = f;
  p.addr = addr;
  p.length = static_cast<std::uint8_t>(p.max_length());
  return p;
}

// The address after addr (big-endian over the family's bytes); false when
// it wraps.
bool next_address(config::Family f, std::array<std::uint8_t, 16>& addr) {
  for (int i = (f == config::Family::V4 ? 4 : 16) - 1; i >= 0; --i)
    if (++addr[static_cast<std::size_t>(i)] != 0) return true;
  return false;
}

ContainerAddress row_of(const Statement& s) {
  ContainerAddress a;
  a.attachment = {s.text_at(0), s.text_at(1), s.text_at(2)};
  a.address = *config::parse_prefix(s.text_at(3)).prefix;
  a.created_ms = s.int_at(4);
  a.mac = s.text_at(5);
  a.name = s.text_at(6);
  a.labels = s.text_at(7);
  a.ports = s.text_at(8);
  return a;
}

constexpr const char* kColumns =
    "network, container_id, ifname, address, created_ms, mac, name, labels, ports";

}  // namespace

ContainerAddresses::ContainerAddresses(const std::string& path)
    : db_(std::make_unique<Database>(path)) {}

ContainerAddresses::~ContainerAddresses() = default;

std::optional<config::Prefix> ContainerAddresses::allocate(const Attachment& a,
                                                           const config::Prefix& pool) {
  std::lock_guard lock(mutex_);
  Transaction t(*db_);
  Statement held(*db_,
                 "SELECT address FROM container_addresses WHERE network = ?1 AND "
                 "container_id = ?2 AND ifname = ?3 AND family = ?4");
  held.bind(1, a.network).bind(2, a.container_id).bind(3, a.ifname);
  held.bind(4, static_cast<std::int64_t>(pool.family));
  if (held.step()) {
    auto p = config::parse_prefix(held.text_at(0)).prefix;
    if (p && pool.contains(*p)) return p;  // a pool that changed: allocate anew below
    Statement drop(*db_,
                   "DELETE FROM container_addresses WHERE network = ?1 AND container_id = ?2 "
                   "AND ifname = ?3 AND family = ?4");
    drop.bind(1, a.network).bind(2, a.container_id).bind(3, a.ifname);
    drop.bind(4, static_cast<std::int64_t>(pool.family));
    drop.step();
  }
  std::set<std::string> used;
  Statement all(*db_, "SELECT address FROM container_addresses WHERE family = ?1");
  all.bind(1, static_cast<std::int64_t>(pool.family));
  while (all.step()) used.insert(all.text_at(0));

  // From the network's second address up; an IPv4 network's last is its
  // broadcast address.
  auto candidate = config::masked(pool).addr;
  auto beyond = [&](const std::array<std::uint8_t, 16>& addr) {
    return !pool.contains(host(pool.family, addr));
  };
  for (std::size_t tried = 0; tried <= used.size(); ++tried) {
    if (!next_address(pool.family, candidate) || beyond(candidate)) return std::nullopt;
    auto after = candidate;
    bool last = !next_address(pool.family, after) || beyond(after);
    if (last && pool.family == config::Family::V4) return std::nullopt;
    auto text = host(pool.family, candidate).to_string();
    if (used.count(text)) continue;
    Statement add(*db_,
                  "INSERT INTO container_addresses (network, container_id, ifname, address, "
                  "created_ms, family) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    add.bind(1, a.network).bind(2, a.container_id).bind(3, a.ifname).bind(4, text);
    add.bind(5, now_ms()).bind(6, static_cast<std::int64_t>(pool.family));
    add.step();
    t.commit();
    return host(pool.family, candidate);
  }
  return std::nullopt;
}

void ContainerAddresses::set_wiring(const Attachment& a, const std::string& mac,
                                    const std::string& name, const std::string& labels,
                                    const std::string& ports) {
  std::lock_guard lock(mutex_);
  Statement s(*db_,
              "UPDATE container_addresses SET mac = ?4, name = ?5, labels = ?6, ports = ?7 WHERE "
              "network = ?1 AND container_id = ?2 AND ifname = ?3");
  s.bind(1, a.network).bind(2, a.container_id).bind(3, a.ifname).bind(4, mac).bind(5, name);
  s.bind(6, labels).bind(7, ports);
  s.step();
}

std::size_t ContainerAddresses::release(const Attachment& a) {
  std::lock_guard lock(mutex_);
  Statement del(*db_,
                "DELETE FROM container_addresses WHERE network = ?1 AND container_id = ?2 AND "
                "ifname = ?3");
  del.bind(1, a.network).bind(2, a.container_id).bind(3, a.ifname);
  del.step();
  return static_cast<std::size_t>(sqlite3_changes(db_->handle()));
}

std::vector<ContainerAddress> ContainerAddresses::release_all_but(
    const std::string& network, const std::vector<Attachment>& keep) {
  std::lock_guard lock(mutex_);
  Transaction t(*db_);
  std::vector<ContainerAddress> gone;
  {
    Statement s(*db_,
                std::string("SELECT ") + kColumns + " FROM container_addresses WHERE network = ?1");
    s.bind(1, network);
    while (s.step()) {
      auto row = row_of(s);
      if (std::find(keep.begin(), keep.end(), row.attachment) == keep.end()) gone.push_back(row);
    }
  }
  Statement del(*db_,
                "DELETE FROM container_addresses WHERE network = ?1 AND container_id = ?2 AND "
                "ifname = ?3");
  for (const auto& g : gone) {
    del.reset();
    del.bind(1, g.attachment.network).bind(2, g.attachment.container_id);
    del.bind(3, g.attachment.ifname);
    del.step();
  }
  t.commit();
  return gone;
}

std::vector<ContainerAddress> ContainerAddresses::list() const {
  std::lock_guard lock(mutex_);
  std::vector<ContainerAddress> out;
  Statement s(*db_, std::string("SELECT ") + kColumns +
                        " FROM container_addresses ORDER BY network, container_id, ifname, family");
  while (s.step()) out.push_back(row_of(s));
  return out;
}

}  // namespace sluice::store
