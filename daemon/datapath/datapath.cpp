#include "datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <type_traits>

#include "datapath/bpf_error.h"
#include "datapath/datapath_impl.h"
#include "datapath/legacy_conntrack_split.h"
#include "datapath/legacy_nat_pins.h"
#include "datapath/map_writes.h"
#include "datapath/table_sizes.h"
#include "policy/abi_values.h"

namespace sluice::datapath {

void SkeletonDeleter::operator()(tc_ingress_bpf* s) const { tc_ingress_bpf__destroy(s); }
void SkeletonDeleter::operator()(tc_egress_bpf* s) const { tc_egress_bpf__destroy(s); }
void SkeletonDeleter::operator()(xdp_ingress_bpf* s) const { xdp_ingress_bpf__destroy(s); }

namespace {

// The three objects are built separately (one entry file per hook) but
// must share maps. Before `into` is loaded, each of its maps that `from`
// also defines is pointed at from's instance. This is the one place maps
// are matched by name: it is how two objects agree on one map.
void share_maps(const bpf_object* from, bpf_object* into) {
  bpf_map* map;
  bpf_object__for_each_map(map, into) {
    const bpf_map* owner = bpf_object__find_map_by_name(from, bpf_map__name(map));
    if (!owner) continue;
    check(bpf_map__reuse_fd(map, bpf_map__fd(owner)),
          std::string("sharing map ") + bpf_map__name(map));
  }
}

template <typename Skel>
Skel* open_skeleton(Skel* (*open)(), const char* what) {
  Skel* s = open();
  if (!s) throw BpfError(std::string("opening BPF object ") + what, errno);
  return s;
}

// The pin directory must be on a bpffs; /sys/fs/bpf is mounted when it is
// not yet (a fresh boot) and sluiced may (not under its systemd unit,
// which leaves mounting to systemd: then it says what to do).
void prepare_pin_dir(const std::string& dir) {
  constexpr long kBpfFsMagic = 0xcafe4a11;
  const std::string what_to_do =
      "; mount one (mount -t bpf bpf /sys/fs/bpf: systemd does at boot; a container needs the "
      "host's bound "
      "in, e.g. systemd-nspawn --bind=/sys/fs/bpf), or run sluiced with --pin-dir \"\" (nothing "
      "outlives it)";
  struct statfs fs {};
  std::string bpffs = "/sys/fs/bpf";
  if (dir.rfind(bpffs + "/", 0) == 0 && statfs(bpffs.c_str(), &fs) == 0 &&
      static_cast<long>(fs.f_type) != kBpfFsMagic) {
    if (mount("bpf", bpffs.c_str(), "bpf", 0, nullptr) != 0)
      throw UnfitEnvironment(
          "there is no bpf filesystem on " + bpffs + " and mounting one failed" + what_to_do,
          errno);
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw UnfitEnvironment("creating the pin directory " + dir + what_to_do, ec.value());
  if (statfs(dir.c_str(), &fs) != 0)
    throw UnfitEnvironment("pin directory " + dir + what_to_do, errno);
  if (static_cast<long>(fs.f_type) != kBpfFsMagic)
    throw UnfitEnvironment("pin directory " + dir + " is not on a bpf filesystem" + what_to_do,
                           EINVAL);
}

}  // namespace

void Datapath::Impl::pin_all(bpf_object* obj) {
  if (pin_dir.empty()) return;
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    if (bpf_map__fd(m) >= 0) continue;  // reused from the owner object
    // The kernel adds BPF_F_RDONLY_PROG to a devmap it creates, so libbpf
    // would find a pinned one incompatible with the declaration. It holds
    // nothing a restart needs: the service refills it.
    auto type = bpf_map__type(m);
    if (type == BPF_MAP_TYPE_DEVMAP || type == BPF_MAP_TYPE_DEVMAP_HASH) continue;
    std::string path = pin_dir + "/" + bpf_map__name(m);
    check(bpf_map__set_pin_path(m, path.c_str()), "pin path " + path);
  }
}

void Datapath::Impl::adopt() {
  std::uint32_t live = read_settings().active_gen & 1;
  auto take = [&](int fd, auto& live_keys, auto& idle_keys) {
    using Key = typename std::remove_reference_t<decltype(live_keys)>::value_type;
    Key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      (next.gen == live ? live_keys : idle_keys).push_back(next);
      key = next;
      prev = &key;
    }
  };
  Written idle;
  take(map(ingress->maps.contexts), written[live].contexts, idle.contexts);
  take(map(ingress->maps.iface_ids), written[live].ifaces, idle.ifaces);
  take(map(ingress->maps.source_classes), written[live].classes, idle.classes);
  take(map(ingress->maps.targets), written[live].targets, idle.targets);
  take(map(ingress->maps.dest_tables), written[live].tables, idle.tables);
  take(map(ingress->maps.groups), written[live].groups, idle.groups);
  take(map(ingress->maps.decisions), written[live].decisions, idle.decisions);
  // How many rules each generation counted is not recorded: zero them all.
  written[live].rule_count = idle.rule_count = SLUICE_MAX_RULES;
  written[live].counters_dirty = idle.counters_dirty = true;
  written[live ^ 1] = std::move(idle);
  clear_generation(live ^ 1);

  read_prefilter();
}

void Datapath::Impl::read_prefilter() {
  auto read = [&](int fd, auto key, config::Family family) {
    decltype(key) next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      config::Prefix p;
      p.family = family;
      p.length = static_cast<std::uint8_t>(next.prefixlen);
      std::memcpy(p.addr.data(), next.addr, sizeof next.addr);
      prefilter.push_back(p);
      key = next;
      prev = &key;
    }
  };
  read(map(xdp->maps.prefilter4), sluice_prefilter_key4{}, config::Family::V4);
  read(map(xdp->maps.prefilter6), sluice_prefilter_key6{}, config::Family::V6);
}

sluice_settings Datapath::Impl::read_settings() const {
  std::uint32_t zero = 0;
  sluice_settings s{};
  if (bpf_map_lookup_elem(map(ingress->maps.settings), &zero, &s) != 0)
    throw BpfError("reading settings", errno);
  return s;
}

void Datapath::Impl::write_settings(const sluice_settings& s) {
  std::uint32_t zero = 0;
  update(map(ingress->maps.settings), &zero, &s, "settings");
}

namespace {

// max_entries of the map pinned at path, or 0 when there is none.
std::size_t pinned_max_entries(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return 0;
  bpf_map_info info{};
  __u32 len = sizeof info;
  std::size_t out = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : 0;
  close(fd);
  return out;
}

}  // namespace

void Datapath::Impl::size_tables() {
  std::size_t tcp =
      conntrack_entries ? conntrack_entries : conntrack_entries_for_memory(host_memory_bytes());
  std::size_t other =
      conntrack_other_entries ? conntrack_other_entries : conntrack_other_entries_for(tcp);
  std::vector<std::string> notes;
  auto size = [&](bpf_map* map, std::size_t wanted) {
    std::size_t entries = wanted;
    // A pinned table keeps its size: its flows (and their masquerade
    // ports) outlive the restart, which matters more than the new size.
    std::string name = bpf_map__name(map);
    if (!pin_dir.empty()) {
      if (std::size_t pinned = pinned_max_entries(pin_dir + "/" + name)) entries = pinned;
    }
    if (entries != wanted)
      notes.push_back("the pinned " + name + " table keeps its " + std::to_string(entries) +
                      " entries (" + std::to_string(wanted) +
                      " asked for: applies when sluiced starts without it)");
    check(bpf_map__set_max_entries(map, static_cast<__u32>(entries)),
          "sizing the " + name + " table");
  };
  size(ingress->maps.conntrack, tcp);
  size(ingress->maps.conntrack_other, other);
  conntrack_size_note.clear();
  for (const auto& n : notes) conntrack_size_note += (conntrack_size_note.empty() ? "" : "; ") + n;
}

void Datapath::Impl::load() {
  ingress.reset(open_skeleton(tc_ingress_bpf__open, "tc_ingress"));
  size_tables();
  pin_all(ingress->obj);
  check(tc_ingress_bpf__load(ingress.get()), "loading tc_ingress");

  egress.reset(open_skeleton(tc_egress_bpf__open, "tc_egress"));
  share_maps(ingress->obj, egress->obj);
  check(tc_egress_bpf__load(egress.get()), "loading tc_egress");

  xdp.reset(open_skeleton(xdp_ingress_bpf__open, "xdp_ingress"));
  share_maps(ingress->obj, xdp->obj);
  pin_all(xdp->obj);  // the maps only it has
  check(xdp_ingress_bpf__load(xdp.get()), "loading xdp_ingress");
}

Datapath::Datapath(const DatapathOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  d.pin_dir = options.pin_dir;
  d.conntrack_entries = options.conntrack_entries;
  d.conntrack_other_entries = options.conntrack_other_entries;
  bool one_conntrack_table = false;  // pinned by a version before the split
  if (!d.pin_dir.empty()) {
    prepare_pin_dir(d.pin_dir);
    d.adopted = std::filesystem::exists(d.pin_dir + "/settings");
    d.found_previous = d.adopted;
    one_conntrack_table = std::filesystem::exists(d.pin_dir + "/conntrack") &&
                          !std::filesystem::exists(d.pin_dir + "/conntrack_other");
  }
  try {
    d.load();
  } catch (const BpfError& e) {
    if (!d.adopted) throw;
    // Pinned maps whose layout this build does not share (an upgrade that
    // changed abi.h): start afresh rather than not at all. The programs
    // still attached keep their maps, and so keep enforcing, until ours
    // replace them; tracked flows are judged again by the rules.
    d.discarded_pins = e.what();
    d.xdp.reset();
    d.egress.reset();
    d.ingress.reset();
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(d.pin_dir, ignored))
      if (entry.path().filename() !=
          "xdp_program")  // still says which program is the previous sluice's
        std::filesystem::remove(entry.path(), ignored);
    d.adopted = false;
    d.load();
  }
  if (d.adopted) {
    d.adopt();
    std::vector<std::string> notes;
    std::string legacy = d.pin_dir + "/nat";
    if (std::filesystem::exists(legacy))
      notes.push_back("carried " +
                      std::to_string(carry_legacy_nat_table(legacy, conntrack_tables())) +
                      " translations of live flows from the previous version's NAT table "
                      "into the conntrack table");
    d.took_over_one_table = one_conntrack_table;
    if (one_conntrack_table) {
      auto moved = move_non_tcp_entries(conntrack_tables());
      notes.push_back("moved " + std::to_string(moved) + (moved == 1 ? " entry" : " entries") +
                      " of other protocols than TCP from the previous version's one conntrack "
                      "table into their own");
    }
    for (const auto& n : notes) d.upgrade_note += (d.upgrade_note.empty() ? "" : "; ") + n;
  }
  d.pin_xdp_program();
}

namespace {

std::uint32_t prog_id(int fd) {
  bpf_prog_info info{};
  __u32 len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

}  // namespace

void Datapath::Impl::pin_xdp_program() {
  int ours = bpf_program__fd(xdp->progs.sluice_xdp_ingress);
  own_xdp_ids.push_back(prog_id(ours));
  if (pin_dir.empty()) return;
  std::string path = pin_dir + "/xdp_program";
  int previous = bpf_obj_get(path.c_str());
  if (previous >= 0) {
    own_xdp_ids.push_back(prog_id(previous));
    close(previous);
  }
  unlink(path.c_str());
  check(bpf_obj_pin(ours, path.c_str()), "pinning the XDP program at " + path);
}

bool Datapath::owns_xdp_program(std::uint32_t id) const {
  const auto& ids = impl_->own_xdp_ids;
  return id != 0 && std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool Datapath::found_previous() const { return impl_->found_previous; }

const std::string& Datapath::discarded_pins() const { return impl_->discarded_pins; }
std::size_t Datapath::conntrack_capacity() const {
  return conntrack_capacity(SLUICE_CT_TABLE_TCP) + conntrack_capacity(SLUICE_CT_TABLE_OTHER);
}
std::size_t Datapath::conntrack_capacity(sluice_ct_table table) const {
  const auto& maps = impl_->ingress->maps;
  return bpf_map__max_entries(table == SLUICE_CT_TABLE_TCP ? maps.conntrack : maps.conntrack_other);
}
const std::string& Datapath::conntrack_size_note() const { return impl_->conntrack_size_note; }
const std::string& Datapath::upgrade_note() const { return impl_->upgrade_note; }

std::size_t Datapath::finish_takeover() {
  if (!impl_->took_over_one_table) return 0;
  impl_->took_over_one_table = false;
  return move_non_tcp_entries(conntrack_tables());
}

bool Datapath::adopted() const { return impl_->adopted; }

void Datapath::unpin() {
  auto& d = *impl_;
  if (d.pin_dir.empty()) return;
  for (bpf_object* obj : {d.ingress->obj, d.xdp->obj}) {
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      if (bpf_map__is_pinned(map)) bpf_map__unpin(map, nullptr);
    }
  }
  unlink((d.pin_dir + "/xdp_program").c_str());
  std::error_code ignored;
  std::filesystem::remove(d.pin_dir, ignored);
}

Datapath::~Datapath() = default;

ApplyStats Datapath::apply(const policy::CompiledPolicy& policy) {
  auto& d = *impl_;
  sluice_settings s = d.read_settings();
  std::uint32_t live = s.active_gen & 1;
  std::uint32_t next = live ^ 1;

  d.clear_generation(next);  // the ruleset before the live one, if still there
  try {
    d.write_generation(next, policy);
    for (int c = 0; c < SLUICE_CHAIN_COUNT; ++c) {
      s.chain_default[next][c] = policy.chain_defaults[c];
      s.chain_audit[next][c] = policy.chain_audit[c];
      s.context_kinds[next][c] = policy.context_kinds[c];
    }
    d.write_settings(s);  // defaults of the idle generation; nothing reads them yet
  } catch (const BpfError&) {
    d.clear_generation(next);
    throw;
  }
  s.active_gen = next;
  s.flow_events = policy.flow_events;
  d.write_settings(s);  // the flip
  set_prefilter(policy.prefilter, policy.prefilter_exempt);

  ApplyStats stats;
  stats.map_entries = d.written[next].entries();
  stats.generation = next;
  return stats;
}

void Datapath::release_idle_generation() { impl_->clear_generation(active_generation() ^ 1); }

namespace {

// Makes a small map hold exactly `entries`: writes them all, then deletes
// every other key. Written first, so no entry that stays is ever missing;
// read back from the kernel, so entries a previous sluiced pinned count.
template <typename Key, typename Value>
void replace_contents(int fd, const std::vector<std::pair<Key, Value>>& entries, const char* what) {
  std::set<std::string> keep;
  for (const auto& [k, v] : entries) {
    update(fd, &k, &v, what);
    keep.insert(std::string(reinterpret_cast<const char*>(&k), sizeof k));
  }
  std::vector<Key> gone;
  Key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (!keep.count(std::string(reinterpret_cast<const char*>(&next), sizeof next)))
      gone.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto& k : gone) bpf_map_delete_elem(fd, &k);
}

}  // namespace

void Datapath::set_local_addresses(const std::vector<LocalAddress>& addrs) {
  auto& d = *impl_;
  std::vector<std::pair<sluice_local_key, std::uint8_t>> entries;
  for (const auto& a : addrs) {
    sluice_local_key k{};
    k.family = policy::abi_family(a.family);
    std::memcpy(k.addr, a.addr.data(), 16);
    entries.push_back({k, 1});
  }
  replace_contents(d.map(d.ingress->maps.local_addrs), entries, "local address");
  d.local = addrs;
}

namespace {

// endpoints_present: 1 while endpoints holds an entry (bpf/lib/endpoint.h).
void mark_endpoints_present(int endpoints, int present) {
  std::uint32_t key = 0, next = 0, any = bpf_map_get_next_key(endpoints, nullptr, &next) == 0;
  update(present, &key, &any, "endpoint presence");
}

}  // namespace

void Datapath::set_endpoint(std::uint32_t ifindex, const sluice_endpoint& e) {
  auto& d = *impl_;
  update(d.map(d.ingress->maps.endpoints), &ifindex, &e, "container endpoint");
  mark_endpoints_present(d.map(d.ingress->maps.endpoints),
                         d.map(d.ingress->maps.endpoints_present));
}

void Datapath::remove_endpoint(std::uint32_t ifindex) {
  auto& d = *impl_;
  bpf_map_delete_elem(d.map(d.ingress->maps.endpoints), &ifindex);
  mark_endpoints_present(d.map(d.ingress->maps.endpoints),
                         d.map(d.ingress->maps.endpoints_present));
}

void Datapath::set_identities(
    const std::vector<std::pair<LocalAddress, std::uint32_t>>& identities) {
  auto& d = *impl_;
  std::vector<std::pair<sluice_identity_key, std::uint32_t>> entries;
  for (const auto& [a, id] : identities) {
    sluice_identity_key k{};
    k.family = policy::abi_family(a.family);
    std::memcpy(k.addr, a.addr.data(), 16);
    entries.push_back({k, id});
  }
  int map = d.map(d.ingress->maps.identities);
  replace_contents(map, entries, "workload identity");
  std::uint32_t key = 0, any = entries.empty() ? 0 : 1;
  update(d.map(d.ingress->maps.identities_present), &key, &any, "identity presence");
}

void Datapath::set_nat(const policy::NatTables& tables) {
  auto& d = *impl_;
  replace_contents(d.map(d.ingress->maps.iface_addrs), tables.iface_addrs, "interface address");
  std::vector<std::pair<sluice_masq_source_key, std::uint8_t>> sources;
  for (const auto& k : tables.masq_sources) sources.push_back({k, 1});
  replace_contents(d.map(d.ingress->maps.masq_sources), sources, "masquerade source");
  replace_contents(d.map(d.ingress->maps.port_forwards), tables.port_forwards, "port forward");
}

void Datapath::set_fast_path_interfaces(const std::vector<std::uint32_t>& ifindexes) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> entries;
  for (auto i : ifindexes) entries.push_back({i, i});
  replace_contents(impl_->map(impl_->xdp->maps.fast_ports), entries, "fast path interface");
}

void Datapath::set_prefilter(const std::vector<config::Prefix>& prefixes,
                             const std::vector<config::Prefix>& exempt) {
  auto& d = *impl_;
  int fd4 = d.map(d.xdp->maps.prefilter4), fd6 = d.map(d.xdp->maps.prefilter6);
  auto each = [&](const std::vector<config::Prefix>& list, auto&& fn) {
    for (const auto& p : list) {
      if (p.family == config::Family::V4) {
        sluice_prefilter_key4 k{};
        k.prefixlen = p.length;
        std::memcpy(k.addr, p.addr.data(), 4);
        fn(fd4, &k);
      } else {
        sluice_prefilter_key6 k{};
        k.prefixlen = p.length;
        std::memcpy(k.addr, p.addr.data(), 16);
        fn(fd6, &k);
      }
    }
  };
  std::uint8_t drop = SLUICE_PREFILTER_DROP, pass = SLUICE_PREFILTER_EXEMPT;
  // Exemptions first, then drops, then remove what is gone: no moment
  // without the blocklist, nor one where a management source is dropped.
  each(exempt, [&](int fd, const void* k) { update(fd, k, &pass, "prefilter exemption"); });
  each(prefixes, [&](int fd, const void* k) { update(fd, k, &drop, "prefilter prefix"); });
  std::vector<config::Prefix> now = prefixes;
  now.insert(now.end(), exempt.begin(), exempt.end());
  std::sort(now.begin(), now.end());
  std::sort(d.prefilter.begin(), d.prefilter.end());
  std::vector<config::Prefix> gone;
  std::set_difference(d.prefilter.begin(), d.prefilter.end(), now.begin(), now.end(),
                      std::back_inserter(gone));
  each(gone, [&](int fd, const void* k) { bpf_map_delete_elem(fd, k); });
  d.prefilter = std::move(now);
}

}  // namespace sluice::datapath
