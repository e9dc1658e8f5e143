// The loaded BPF datapath: the three programs with their shared maps, and
// the operations the daemon and tests perform on them. Attaching to
// interfaces is the caller's business; this owns only the kernel objects.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/address.h"
#include "config/model.h"
#include "datapath/conntrack_counts.h"
#include "datapath/conntrack_cursor.h"
#include "datapath/conntrack_tables.h"
#include "policy/compiled_policy.h"
#include "policy/nat_tables.h"
#include "sluice/abi.h"

namespace sluice::datapath {

struct ApplyStats {
  std::size_t map_entries = 0;   // policy entries of the generation now live
  std::uint32_t generation = 0;  // now live
};

struct LocalAddress {
  config::Family family = config::Family::V4;
  std::array<std::uint8_t, 16> addr{};
  std::uint32_t ifindex = 0;
  std::uint8_t prefix_length = 0;  // of the subnet the address is on
};

struct DatapathOptions {
  // Directory on a bpffs where the maps are pinned so that they outlive the
  // process, and where a restarted daemon finds them again (conntrack
  // included). Empty: nothing is pinned, as in the tests.
  std::string pin_dir;
  // Entries of the TCP conntrack table: a flow takes one, its masquerade
  // or port-forward translation another; 0: from the host's memory
  // (table_sizes.h). A pinned table keeps its size.
  std::size_t conntrack_entries = 0;
  // Entries of the table of every other protocol (UDP, ICMP, ...); 0: half
  // of the TCP table's (table_sizes.h).
  std::size_t conntrack_other_entries = 0;
};

class Datapath {
 public:
  // Loads and verifies the programs, reusing the maps pinned in
  // options.pin_dir when there are any; throws BpfError.
  explicit Datapath(const DatapathOptions& options = {});
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // Writes the ruleset into the idle generation, then flips to it in one
  // map write: a packet sees the old or the new ruleset, never a mix. On
  // failure the live ruleset is untouched. Throws BpfError. The previous
  // ruleset stays in the now idle generation until
  // release_idle_generation() or the next apply removes it.
  ApplyStats apply(const policy::CompiledPolicy& policy);

  // Frees the map entries of the previous ruleset. Off the apply path:
  // nothing reads them once the flip is done.
  void release_idle_generation();

  // Maps the interfaces the live ruleset names to their ifindexes again:
  // after an interface appeared, went, or was made anew.
  void refresh_interface_ids();

  // Replaces the set of addresses owned by this host.
  void set_local_addresses(const std::vector<LocalAddress>& addrs);

  // A container's host end (CNI mode): packets arriving on ifindex must
  // come from this MAC and these addresses, else they are dropped as
  // spoofed.
  void set_endpoint(std::uint32_t ifindex, const sluice_endpoint& e);
  void remove_endpoint(std::uint32_t ifindex);

  // Replaces the workload identities: each address (a LocalAddress: family
  // and address) with its identity number.
  void set_identities(const std::vector<std::pair<LocalAddress, std::uint32_t>>& identities);

  // Replaces the NAT configuration (masquerade addresses and sources, port
  // forwards); translations of live flows stay.
  void set_nat(const policy::NatTables& tables);

  // The interfaces the XDP fast path may forward to (by ifindex).
  void set_fast_path_interfaces(const std::vector<std::uint32_t>& ifindexes);

  // Replaces the XDP blocklist.
  // exempt: prefixes inside blocked ones that are let through all the
  // same (the longest match decides).
  void set_prefilter(const std::vector<config::Prefix>& prefixes,
                     const std::vector<config::Prefix>& exempt = {});

  // The L7 proxy (docs/l7.md, datapath/proxy_steering.cpp). listen_fd, a
  // TCP listener with IP_TRANSPARENT, takes the flows of the rule with
  // this proxy slot; without one they are dropped. The entry goes by
  // itself when the socket closes. Throw BpfError.
  void set_proxy_listener(std::uint16_t slot, config::Family family, int listen_fd);
  void remove_proxy_listener(std::uint16_t slot, config::Family family);
  // Attaches the lookup that gives a SYN meeting a TIME_WAIT socket to
  // the proxy (sluice_proxy_lookup) to the network namespace of netns_fd,
  // until the Datapath goes. Idempotent. Throws BpfError.
  void attach_proxy_lookup(int netns_fd);

  // Counters summed over CPUs, for the live generation.
  sluice_counter rule_counter(std::uint32_t rule_index) const;
  sluice_counter default_counter(config::Chain chain) const;
  // Packets tc let through after judging them (tracked, related, accepted).
  sluice_counter passed_counter() const;
  sluice_counter drop_counter(sluice_drop_reason reason) const;
  sluice_counter audit_counter(sluice_audit_reason reason) const;
  sluice_counter nat_counter(sluice_nat_counter which) const;
  sluice_counter fastpath_counter(sluice_fastpath_counter which) const;

  struct MapUsage {
    std::string name;
    std::size_t entries = 0;   // both generations for the policy maps
    std::size_t capacity = 0;  // max_entries
    std::size_t memory = 0;    // bytes charged to the map (memlock)
    // conntrack tables: how many of their entries are translations, not flows
    std::size_t translations = 0;
    // which conntrack table this map is ("tcp", "other"); empty for other maps
    std::string conntrack_table;
  };
  using ConntrackCounts = datapath::ConntrackCounts;
  using ConntrackTableCounts = datapath::ConntrackTableCounts;
  // Every map with its fill and memory: the conntrack tables' as counted
  // (count_conntrack_tables(): a walk of every bucket, milliseconds for a
  // large table, so the daemon counts once a second and status reuses it),
  // the rest from what was written.
  std::vector<MapUsage> map_usage(const ConntrackTableCounts& counted) const;

  struct ConntrackEntry {
    sluice_ct_key key{};
    sluice_ct_entry value{};
  };
  // Every flow of both tables (a few hundred thousand at most; translations,
  // SLUICE_NAT_TRANSLATION, left out). Reads the map only: safe beside
  // other threads' use of the Datapath.
  std::vector<ConntrackEntry> conntrack() const;
  // Walks the flows without copying the table, a few thousand at a time,
  // until fn returns false.
  void for_each_conntrack(const std::function<bool(const ConntrackEntry&)>& fn) const;
  // How many flows and translations a table holds (both: the sum).
  ConntrackCounts count_conntrack() const;
  ConntrackCounts count_conntrack(sluice_ct_table table) const;
  ConntrackTableCounts count_conntrack_tables() const;
  // Reads the next chunk of at most `most` entries, flows and translations,
  // after cursor into out (replacing its contents); true when the walk has
  // reached the end of the last table (the cursor then starts over). Entries added or
  // removed meanwhile may be missed or met once more, as with any walk of
  // a live hash map.
  bool read_conntrack_chunk(ConntrackCursor& cursor, std::size_t most,
                            std::vector<ConntrackEntry>& out) const;
  // Removes an entry the daemon found expired, unless a packet refreshed
  // it since it was read. True when removed. Safe beside other threads.
  bool remove_expired_conntrack(const ConntrackEntry& seen);
  // Removes a translation whose flow is gone (ended, expired or evicted),
  // unless it was made anew since it was read. True when removed.
  bool remove_stale_translation(const ConntrackEntry& seen);
  void clear_conntrack();

  std::uint32_t active_generation() const;

  // True when the maps were found pinned: a previous sluiced left the
  // datapath enforcing, and its conntrack and ruleset were taken over.
  bool adopted() const;

  // Whether an XDP program id is sluice's: this one's, or the one the
  // previous sluiced pinned (pin_dir/xdp_program) before it left the
  // datapath enforcing. Needs no CAP_SYS_ADMIN (which looking a program up
  // by id would). found_previous(): a previous sluiced's pins were there
  // (taken over or, with another layout, discarded).
  bool owns_xdp_program(std::uint32_t prog_id) const;
  bool found_previous() const;

  // Non-empty when maps were pinned but not compatible with this build
  // (their layout changed): they were removed and the datapath started
  // afresh. Says why.
  const std::string& discarded_pins() const;
  // The conntrack tables' size (both: the sum), and why it is not the one
  // asked for when it is not (a pinned table kept its size); empty
  // otherwise.
  std::size_t conntrack_capacity() const;
  std::size_t conntrack_capacity(sluice_ct_table table) const;
  const std::string& conntrack_size_note() const;
  // What taking over the pins of an older version carried over, if
  // anything (empty otherwise).
  const std::string& upgrade_note() const;
  // Once this sluiced's programs have replaced the previous version's on
  // every interface: when that version kept every protocol in one table,
  // the entries of other protocols its programs made there since the
  // takeover are moved into their table too. Returns how many (0 on any
  // later call).
  std::size_t finish_takeover();

  // Removes the pins (a clean stop): the maps go when the programs do.
  void unpin();

  int tc_ingress_fd() const;
  int tc_egress_fd() const;
  int xdp_ingress_fd() const;
  ConntrackTables conntrack_tables() const;
  int proxy_listeners_fd() const;                          // the sockmap of the proxy's listeners
  int events_fd() const;                                   // the ring buffer of struct sluice_event
  std::uint64_t events_lost(sluice_event_loss why) const;  // events not delivered, and why

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::datapath
