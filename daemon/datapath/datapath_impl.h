// The inside of Datapath (datapath.h), shared by the files that implement
// it: datapath.cpp (loading, pinning, applying rulesets, the tables it
// writes) and datapath_reads.cpp (counters and tables read back). Not for
// use outside daemon/datapath.
#pragma once

#include <bpf/libbpf.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datapath/datapath.h"
#include "tc_egress.skel.h"
#include "tc_ingress.skel.h"
#include "xdp_ingress.skel.h"

namespace sluice::datapath {

// Owns a skeleton; destroying it unloads programs and drops map refs.
// (The skeletons' destroy functions are static: they are called from
// datapath.cpp, so that no type in this header depends on them.)
struct SkeletonDeleter {
  void operator()(tc_ingress_bpf* s) const;
  void operator()(tc_egress_bpf* s) const;
  void operator()(xdp_ingress_bpf* s) const;
};

using TcIngress = std::unique_ptr<tc_ingress_bpf, SkeletonDeleter>;
using TcEgress = std::unique_ptr<tc_egress_bpf, SkeletonDeleter>;
using XdpIngress = std::unique_ptr<xdp_ingress_bpf, SkeletonDeleter>;

struct Datapath::Impl {
  TcIngress ingress;
  TcEgress egress;
  XdpIngress xdp;
  std::string pin_dir;
  bool adopted = false;
  bool found_previous = false;
  std::string discarded_pins;               // why pinned maps could not be reused
  std::size_t conntrack_entries = 0;        // asked for (0: from memory)
  std::size_t conntrack_other_entries = 0;  // asked for (0: half the TCP table's)
  std::string conntrack_size_note;          // a pinned table kept another size
  std::string upgrade_note;                 // what taking over an older version's pins did
  bool took_over_one_table = false;         // an older version's, every protocol in it
  std::vector<std::uint32_t> own_xdp_ids;   // ours, and the previous sluiced's
  bpf_link* proxy_lookup = nullptr;         // sluice_proxy_lookup on the netns
  ~Impl();

  // Pins our XDP program at pin_dir/xdp_program, after learning the id of
  // the one a previous sluiced pinned there.
  void pin_xdp_program();

  // Opens and loads the three programs, the maps shared and pinned.
  void load();
  // Sizes the conntrack tables before they are created.
  void size_tables();

  // What each generation holds, so it can be emptied before reuse.
  struct Written {
    std::vector<sluice_context_key> contexts;
    std::vector<sluice_iface_key> ifaces;
    std::vector<std::string> interface_names;  // the ruleset's, by id - 1
    std::vector<sluice_class_key> classes;
    std::size_t length_sets = 0;  // an array: rewritten, never deleted
    std::vector<sluice_target_key> targets;
    std::vector<sluice_dest_table_key> tables;
    std::vector<sluice_group_key> groups;
    std::vector<sluice_decision_key> decisions;

    std::size_t entries() const {
      return contexts.size() + ifaces.size() + classes.size() + length_sets + targets.size() +
             tables.size() + groups.size() + decisions.size();
    }
    std::uint32_t rule_count = 0;
    // Counters of rule_count rules still hold the counts of a ruleset that
    // is no longer live.
    bool counters_dirty = true;
  };
  std::array<Written, SLUICE_GENERATIONS> written;
  std::vector<LocalAddress> local;
  std::vector<config::Prefix> prefilter;

  int map(bpf_map* m) const { return bpf_map__fd(m); }

  // Every map of obj that is not already shared gets a pin path: libbpf
  // reuses the pinned map when it exists (refusing an incompatible one) and
  // pins the new one otherwise. Maps are matched by name, their pin file.
  void pin_all(bpf_object* obj);

  // After a restart: work out what each generation holds, drop the idle
  // one, and forget state the service sets again (local addresses).
  void adopt();

  // The blocklist as pinned, so that the next set_prefilter() diffs against it.
  void read_prefilter();

  sluice_settings read_settings() const;

  void write_settings(const sluice_settings& s);

  // Deletes every entry a generation holds; tolerant of entries already gone.
  void clear_generation(std::uint32_t gen);

  void write_source_lengths(std::uint32_t gen, const policy::CompiledPolicy& policy);
  void write_contexts(std::uint32_t gen, const policy::CompiledPolicy& policy);
  void write_interface_ids(std::uint32_t gen);

  void write_generation(std::uint32_t gen, const policy::CompiledPolicy& policy);
};

// Sums a per-CPU counter over the CPUs.
sluice_counter sum_percpu(int fd, std::uint32_t index);

}  // namespace sluice::datapath
