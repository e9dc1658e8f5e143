#include "service/service.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <time.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <algorithm>
#include <stdexcept>
#include <system_error>

#include "config/bounded_file.h"
#include "config/parser.h"
#include "datapath/attachment.h"
#include "datapath/bpf_error.h"
#include "datapath/datapath.h"
#include "flows/event_decoder.h"
#include "flows/event_reader.h"
#include "service/flow_log.h"
#include "net/addresses.h"
#include "net/foreign_firewalls.h"
#include "net/interface_addresses.h"
#include "net/link_kind.h"
#include "net/routes.h"
#include "service/log.h"
#include "store/database.h"
#include "store/state_store.h"

namespace sluice::service {

namespace {

// libbpf's warnings and notes (verifier logs, kernel extack notes such as
// an existing clsact qdisc) go to the journal; its step-by-step debug
// chatter does not. Failures reach the log anyway, as our own errors.
int libbpf_to_log(libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[4096];
  std::vsnprintf(buf, sizeof buf, format, args);
  std::string line(buf);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  log(level == LIBBPF_WARN ? Priority::Info : Priority::Debug, line);
  return 0;
}

}  // namespace

Service::Service(ServiceOptions options)
    : flows_(std::make_shared<FlowLog>(options.database_path)),
      decoder_(std::make_unique<flows::EventDecoder>()),
      config_path_(std::move(options.config_path)),
      list_dirs_(std::move(options.list_dirs)) {
  libbpf_set_print(libbpf_to_log);
  auto loaded = policy::load_ruleset(config_path_, list_dirs_);
  if (!loaded.ruleset) throw std::runtime_error(config::format(loaded.diagnostics));
  datapath_ = std::make_unique<datapath::Datapath>(datapath::DatapathOptions{options.pin_dir});
  if (!datapath_->discarded_pins().empty())
    log(Priority::Warning, "the maps pinned in " + options.pin_dir +
                               " do not fit this version's datapath; started afresh (tracked flows are "
                               "judged again by the rules): " + datapath_->discarded_pins());
  if (datapath_->adopted())
    log(Priority::Notice, "took over the datapath pinned in " + options.pin_dir + " (" +
                              std::to_string(datapath_->conntrack().size()) + " tracked flows)");
  if (!options.database_path.empty()) {
    try {
      state_ = std::make_unique<store::StateStore>(options.database_path);
    } catch (const store::Error& e) {
      state_error_ = e.what();
      log(Priority::Error, std::string("config history, audit log and API users unavailable: ") + e.what());
    }
  } else {
    state_error_ = "sluiced runs without a database (--database \"\")";
  }
  if (auto restore = resume_pending_confirm()) loaded.ruleset = std::move(restore);
  apply(*loaded.ruleset);
  // The history starts with the version sluiced started with, unless it
  // is the one recorded last.
  if (state_) {
    try {
      auto last = state_->config_versions(1);
      auto same = !last.empty() && state_->config_version(last[0].id)->text == live_->text;
      if (!same) record_version("sluiced (start)", "", "start");
    } catch (const store::Error& e) {
      log(Priority::Error, std::string("reading the config history: ") + e.what());
    }
  }
  events_ = std::make_unique<flows::EventReader>(datapath_->events_fd(),
                                                 [this](const sluice_event& e) { on_event(e); });
  refresh();
  for (const auto& finding : net::foreign_firewalls())
    log(Priority::Warning, "another packet filter may judge the same traffic: " + finding);
}

Service::~Service() {
  if (keep_) {
    for (auto& [name, a] : attached_) a->leave_attached();
    log(Priority::Notice, "leaving the datapath enforcing on " + std::to_string(attached_.size()) +
                              " interface(s)");
    return;
  }
  attached_.clear();  // detach before the programs go
  datapath_->unpin();
  log(Priority::Notice, "detached from every interface");
}

void Service::apply(const policy::Ruleset& ruleset) {
  auto started = Clock::now();
  auto stats = datapath_->apply(ruleset.compiled);
  datapath_->release_idle_generation();
  auto table = std::make_shared<flows::RuleTable>();
  table->config_file = config_path_;
  for (const auto& r : ruleset.config.rules)
    table->rules.push_back({r.name, static_cast<std::uint32_t>(r.where.line), r.log});
  decoder_->set_rules(stats.generation, std::move(table));
  flows_->configure(ruleset.config.flows);
  ++apply_stats_.applied;
  apply_stats_.last_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // the clock bpf_ktime_get_ns() reads
  applied_at_ns_ = static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
  applied_generation_ = static_cast<int>(stats.generation & 1);
  if (live_) previous_ = std::move(live_);
  live_ = ruleset;
  apply_routing(ruleset.config);
  const auto& c = ruleset.compiled;
  if (!c.prefilter_exempt.empty() || c.prefilter_left_out)
    log(Priority::Notice, "prefilter: " + std::to_string(c.prefilter_exempt.size()) +
                              " management source(s) exempt from the blocklist, " +
                              std::to_string(c.prefilter_left_out) +
                              " blocked prefix(es) left out as wholly inside the management sources");
  log(Priority::Notice, "applied " + config_path_ + ": " + std::to_string(ruleset.config.rules.size()) +
                            " rules, " + std::to_string(stats.class_entries + stats.group_entries + stats.decision_entries) +
                            " map entries, generation " + std::to_string(stats.generation));
}

namespace {

void log_changes(const std::string& what, const net::Changes& c) {
  if (c.added || c.removed)
    log(Priority::Notice, what + ": " + std::to_string(c.added) + " added, " + std::to_string(c.removed) +
                              " removed, " + std::to_string(c.kept) + " kept");
  for (const auto& p : c.problems) log(Priority::Error, what + ": " + p);
}

}  // namespace

void Service::apply_routing(const config::Config& cfg) {
  // Addresses first: a route's next hop must be on a connected subnet.
  log_changes("addresses", net::reconcile_interface_addresses(cfg.interfaces));
  if (cfg.forwarding) {
    auto problem = net::set_forwarding(*cfg.forwarding);
    if (!problem.empty()) log(Priority::Error, problem);
  }
  log_changes("routes", net::reconcile_routes(cfg.routes));
}

config::Diagnostics Service::reload(const std::string& who) {
  return apply_loaded(policy::load_ruleset(config_path_, list_dirs_), std::nullopt, who, nullptr, /*keep_pending=*/true)
      .diagnostics;
}

Service::ApplyOutcome Service::apply_file(std::optional<std::chrono::seconds> confirm_within, const std::string& who) {
  return apply_loaded(policy::load_ruleset(config_path_, list_dirs_), confirm_within, who, nullptr);
}

Service::ApplyOutcome Service::apply_text(const std::string& text, std::optional<std::chrono::seconds> confirm_within,
                                          const std::string& who) {
  auto loaded = policy::load_ruleset_text(text, config_path_, list_dirs_);
  return apply_loaded(std::move(loaded), confirm_within, who, &text);
}

namespace {

// Replaces the file at path with text in one step (a reader sees the old
// file or the new one), keeping its permissions. Returns an error or "".
std::string replace_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".sluice-new";
  struct stat st{};
  mode_t mode = stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    unlink(tmp.c_str());
    return "cannot replace " + path + ": " + std::strerror(err);
  }
  return {};
}

std::string changes_text(const std::vector<config::Change>& changes) {
  std::string out;
  for (const auto& c : changes)
    out += std::string(config::to_string(c.kind)) + " " + c.what + ": " + c.detail + "\n";
  return out;
}

}  // namespace

Service::ApplyOutcome Service::apply_loaded(policy::LoadResult loaded, std::optional<std::chrono::seconds> confirm_within,
                                            const std::string& who, const std::string* new_text, bool keep_pending) {
  ApplyOutcome out;
  if (!loaded.ruleset) {
    for (const auto& d : loaded.diagnostics) log(Priority::Error, d.to_string());
    log(Priority::Error, "apply by " + who + " refused: " + std::to_string(loaded.diagnostics.size()) +
                             " error(s); the running ruleset stays");
    out.diagnostics = std::move(loaded.diagnostics);
    ++apply_stats_.failed;
    return out;
  }
  // Text from the API becomes the config file first: the file stays the
  // one source of truth (a restart or SIGHUP reads what was applied).
  std::string old_text;
  if (new_text) {
    old_text = live_->text;
    if (auto err = replace_file(config_path_, *new_text); !err.empty()) {
      log(Priority::Error, "apply by " + who + " refused: " + err);
      ++apply_stats_.failed;
      out.diagnostics = {{{config_path_, 0, 0}, "", err}};
      return out;
    }
  }
  out.changes = config::diff(live_->config, loaded.ruleset->config);
  policy::Ruleset before = *live_;
  try {
    apply(*loaded.ruleset);
  } catch (const datapath::BpfError& e) {
    log(Priority::Error, std::string("apply failed, the running ruleset stays: ") + e.what());
    if (new_text) replace_file(config_path_, old_text);
    ++apply_stats_.failed;
    out.diagnostics = {{{config_path_, 0, 0}, "", e.what()}};
    out.changes.clear();
    return out;
  }
  // A newer apply replaces an older pending one but keeps its way back:
  // rolling back returns to the last confirmed ruleset.
  if (confirm_within) {
    policy::Ruleset restore = pending_ ? std::move(pending_->restore) : std::move(before);
    set_pending(PendingConfirm{Clock::now() + *confirm_within, std::move(restore)});
    log(Priority::Notice, "apply must be confirmed within " + std::to_string(confirm_within->count()) +
                              "s or it is rolled back");
  } else if (pending_ && keep_pending) {
    log(Priority::Notice, "the apply awaiting confirmation keeps its deadline");
  } else if (pending_) {
    set_pending(std::nullopt);
  }
  out.version = record_version(who, changes_text(out.changes),
                               confirm_within ? "apply, confirm within " + std::to_string(confirm_within->count()) + "s"
                                              : "apply");
  refresh();
  return out;
}

std::uint64_t Service::record_version(const std::string& who, const std::string& diff, const std::string& what) {
  if (!state_) return 0;
  try {
    auto id = state_->add_config_version(who, config_path_, live_->text, diff);
    state_->audit(who, what, "config version " + std::to_string(id) + (diff.empty() ? " (no changes)" : ""));
    return id;
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("recording the config version: ") + e.what());
    return 0;
  }
}

void Service::audit(const std::string& who, const std::string& what, const std::string& detail) {
  if (!state_) return;
  try {
    state_->audit(who, what, detail);
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("writing the audit log: ") + e.what());
  }
}

bool Service::confirm(const std::string& who) {
  if (!pending_) return false;
  set_pending(std::nullopt);
  log(Priority::Notice, "apply confirmed by " + who);
  audit(who, "confirm", "the last apply stays");
  return true;
}

bool Service::rollback(std::string& why, const std::string& who) {
  std::optional<policy::Ruleset> target;
  if (pending_) target = pending_->restore;
  else if (previous_) target = previous_;
  if (!target) {
    why = "there is no earlier ruleset to roll back to";
    return false;
  }
  auto changes = config::diff(live_->config, target->config);
  // The file follows: a reload, restart, reboot or upgrade must not bring
  // back what was rolled back. It is rewritten first and put back if the
  // kernel refuses; when it cannot be written the rollback still happens
  // (it may be what keeps the operator in).
  auto before = config::read_bounded_file(config_path_, config::kMaxConfigBytes);
  std::string file_problem = replace_file(config_path_, target->text);
  try {
    apply(*target);
  } catch (const datapath::BpfError& e) {
    if (file_problem.empty() && before.text) replace_file(config_path_, *before.text);
    why = e.what();
    return false;
  }
  set_pending(std::nullopt);
  if (!file_problem.empty())
    log(Priority::Error, "rolled back, but " + file_problem + "; a reload or restart would apply the file as it is");
  log(Priority::Notice, "rolled back to the previous ruleset (" + who + ")");
  record_version(who, changes_text(changes), "rollback");
  refresh();
  return true;
}

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Service::set_pending(std::optional<PendingConfirm> pending) {
  pending_ = std::move(pending);
  if (!state_) return;
  try {
    if (!pending_) {
      state_->clear_pending_confirm();
      return;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(pending_->deadline - Clock::now());
    state_->save_pending_confirm({wall_ms() + left.count(), pending_->restore.text});
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("keeping the confirm deadline across restarts: ") + e.what());
  }
}

std::optional<policy::Ruleset> Service::resume_pending_confirm() {
  if (!state_) return std::nullopt;
  std::optional<store::StoredPendingConfirm> stored;
  try {
    stored = state_->pending_confirm();
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("reading a pending confirmation: ") + e.what());
  }
  if (!stored) return std::nullopt;
  auto restore = policy::load_ruleset_text(stored->restore_text, config_path_, list_dirs_);
  if (!restore.ruleset) {
    log(Priority::Error, "an apply awaited confirmation when sluiced stopped, but the ruleset to return to no longer "
                         "loads; the config file's stays: " + config::format(restore.diagnostics));
    set_pending(std::nullopt);
    return std::nullopt;
  }
  auto left = std::chrono::milliseconds(stored->deadline_ms - wall_ms());
  if (left.count() > 0) {
    pending_ = PendingConfirm{Clock::now() + left, std::move(*restore.ruleset)};  // the database has it already
    log(Priority::Notice, "an apply still awaits confirmation: rolled back in " +
                              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(left).count() + 1) +
                              "s unless confirmed");
    return std::nullopt;
  }
  log(Priority::Warning, "an apply was not confirmed before its deadline passed (sluiced was stopped meanwhile): "
                         "starting with the ruleset before it");
  if (auto err = replace_file(config_path_, stored->restore_text); !err.empty())
    log(Priority::Error, "rolled back, but " + err + "; a reload or restart would apply the file as it is");
  set_pending(std::nullopt);
  audit("sluiced (confirm deadline passed while stopped)", "rollback", "at start");
  return std::move(restore.ruleset);
}

int Service::events_fd() const { return events_->fd(); }

bool Service::handle_events() {
  int taken = events_->consume(kEventsPerTurn);
  flows_->record(std::move(decoded_));
  decoded_.clear();
  return taken >= static_cast<int>(kEventsPerTurn);
}

void Service::on_event(const sluice_event& e) {
  if (e.type < events_received_.size()) ++events_received_[e.type];
  if (e.type == SLUICE_EVENT_CLOSED) {  // the reader checked it is a whole sluice_event_closed
    const auto& c = reinterpret_cast<const sluice_event_closed&>(e);
    decoded_.push_back(closed_record(c.key, c.entry));
    return;
  }
  // A fast-path new flow that carries its masquerade counts as both.
  if (e.type == SLUICE_EVENT_NEW_FLOW && (e.nat & SLUICE_NAT_SNAT)) ++events_received_[SLUICE_EVENT_NAT];
  std::size_t first = decoded_.size();
  decoder_->decode(e, decoded_);
  if (e.type == SLUICE_EVENT_AUDIT || decoder_->logged(e)) log_flow(decoded_[first]);
}

// Audit verdicts, and decisions of rules with log = true, go to the
// journal too, at most kEventLinesPerSecond lines a second.
void Service::log_flow(const flows::FlowRecord& r) {
  if (event_lines_ >= kEventLinesPerSecond) {
    ++events_suppressed_;
    return;
  }
  ++event_lines_;
  auto end = [](const std::string& addr, std::uint16_t port) {
    return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
  };
  std::string who = r.rule == "default" ? r.chain + " default" : "rule '" + r.rule + "'";
  std::string flow = (r.proto.empty() ? std::string("ip") : r.proto) + " " + end(r.src, r.sport) + " -> " +
                     end(r.dst, r.dport);
  if (r.verdict == flows::Verdict::Audit) {
    log(Priority::Notice, "audit: " + who + " would " + r.action + " " + flow + " (let through)");
    return;
  }
  log(Priority::Notice, std::string("flow ") + flows::to_string(r.verdict) + " by " + who +
                            (r.rule_line ? " (line " + std::to_string(r.rule_line) + ")" : "") + ": " + flow +
                            " on " + r.interface + (r.reason.empty() ? "" : " (" + r.reason + ")"));
}

void Service::tick() {
  if (Clock::now() >= event_second_ + std::chrono::seconds(1)) {
    if (events_suppressed_)
      log(Priority::Notice, std::to_string(events_suppressed_) + " more audit or logged flow events in the last second");
    events_suppressed_ = 0;
    event_lines_ = 0;
    event_second_ = Clock::now();
  }
  if (!pending_ || Clock::now() < pending_->deadline) return;
  log(Priority::Warning, "apply not confirmed in time: rolling back");
  std::string why;
  if (!rollback(why, "sluiced (confirm deadline passed)")) log(Priority::Error, "rollback failed: " + why);
}

std::vector<std::pair<std::string, std::string>> Service::interfaces() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, a] : attached_)
    out.push_back({name, a->xdp_mode() == datapath::XdpMode::Native ? "native" : "generic"});
  return out;
}

void Service::refresh() {
  decoder_->forget_interfaces();  // an ifindex may have been reused
  // Forget interfaces that are gone or no longer configured.
  for (auto it = attached_.begin(); it != attached_.end();) {
    const auto& itfs = live_->config.interfaces;
    bool configured = std::any_of(itfs.begin(), itfs.end(),
                                  [&](const config::Interface& i) { return i.name == it->first; });
    bool present = if_nametoindex(it->first.c_str()) == static_cast<unsigned>(it->second->ifindex());
    if (configured && present) {
      ++it;
      continue;
    }
    log(Priority::Notice, "detaching from " + it->first + (present ? " (no longer configured)" : " (gone)"));
    it = attached_.erase(it);
  }
  bool appeared = false;
  for (const auto& itf : live_->config.interfaces) {
    if (attached_.count(itf.name) || if_nametoindex(itf.name.c_str()) == 0) continue;
    try {
      auto a = std::make_unique<datapath::Attachment>(*datapath_, itf.name);
      log(Priority::Notice, "attached to " + itf.name + " (XDP " +
                                (a->xdp_mode() == datapath::XdpMode::Native ? "native" : "generic") +
                                ", tc ingress and egress)");
      attached_[itf.name] = std::move(a);
      appeared = true;
    } catch (const datapath::BpfError& e) {
      log(Priority::Error, e.what());
    }
  }
  // An interface that came after the apply gets its addresses and routes now.
  if (appeared) apply_routing(live_->config);
  try {
    std::vector<datapath::LocalAddress> addrs;
    for (const auto& a : net::local_addresses()) addrs.push_back({a.family, a.addr, a.ifindex, a.prefix_length});
    datapath_->set_local_addresses(addrs);
    update_nat(addrs);
    update_fast_path();
  } catch (const std::system_error& e) {
    log(Priority::Error, std::string("reading local addresses: ") + e.what());
  } catch (const datapath::BpfError& e) {
    log(Priority::Error, std::string("updating addresses and NAT: ") + e.what());
  }
}

void Service::update_nat(const std::vector<datapath::LocalAddress>& addrs) {
  std::vector<policy::InterfaceState> interfaces;
  for (const auto& [name, a] : attached_) {
    policy::InterfaceState st{name, static_cast<std::uint32_t>(a->ifindex()), {}};
    for (const auto& la : addrs) {
      if (la.ifindex != st.ifindex) continue;
      config::Prefix p;
      p.family = la.family;
      p.addr = la.addr;
      p.length = la.prefix_length;
      st.addresses.push_back(p);
    }
    interfaces.push_back(std::move(st));
  }
  auto tables = policy::compile_nat(live_->config, interfaces);
  if (nat_ && *nat_ == tables) return;
  datapath_->set_nat(tables);
  nat_ = std::move(tables);
}

void Service::update_fast_path() {
  std::vector<std::uint32_t> fast;
  auto mode = live_->config.fast_path;
  for (const auto& [name, a] : attached_) {
    if (mode == config::FastPath::Off) break;
    if (mode == config::FastPath::Auto && net::link_kind(a->ifindex()) == "veth") continue;
    fast.push_back(static_cast<std::uint32_t>(a->ifindex()));
  }
  if (fast_path_ && fast == *fast_path_) return;
  datapath_->set_fast_path_interfaces(fast);
  fast_path_ = fast;
  log(Priority::Info, "XDP fast path forwards to " + std::to_string(fast.size()) + " interface(s)");
}

flows::FlowRecord Service::closed_record(const sluice_ct_key& key, const sluice_ct_entry& entry) {
  // Rule indexes name rules of the ruleset live when the flow started.
  return decoder_->closed(key, entry, entry.created_ns >= applied_at_ns_ ? applied_generation_ : -1);
}

Service::SweepResult Service::sweep_walk() {
  SweepResult out;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  std::uint64_t now_ns = static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
  std::vector<datapath::Datapath::ConntrackEntry> expired;
  datapath_->for_each_conntrack([&](const datapath::Datapath::ConntrackEntry& e) {
    ++out.entries_left;
    if (flows::conntrack_expired(e.key, e.value, now_ns)) expired.push_back(e);
  });
  for (const auto& e : expired) {
    if (!datapath_->remove_expired_conntrack(e)) continue;
    --out.entries_left;
    out.removed.emplace_back(e.key, e.value);
  }
  next_sweep_ = Clock::now() + kConntrackSweepEvery;
  return out;
}

void Service::sweep_record(SweepResult swept) {
  if (live_->config.flows.events == config::FlowEvents::All) {
    std::vector<flows::FlowRecord> closed;
    closed.reserve(swept.removed.size());
    for (const auto& [key, entry] : swept.removed) closed.push_back(closed_record(key, entry));
    flows_->record(std::move(closed));
  }
  std::size_t entries = swept.entries_left;
  // Warn once on the way up, again only after it has come down.
  if (!conntrack_high_ && entries * 100 >= SLUICE_MAX_CONNTRACK * kConntrackWarnPercent) {
    conntrack_high_ = true;
    ++conntrack_high_events_;
    log(Priority::Warning, "conntrack table " + std::to_string(entries * 100 / SLUICE_MAX_CONNTRACK) +
                               "% full (" + std::to_string(entries) + " of " +
                               std::to_string(SLUICE_MAX_CONNTRACK) +
                               "); when full, the least recently used flows are evicted");
  } else if (conntrack_high_ && entries * 100 < SLUICE_MAX_CONNTRACK * (kConntrackWarnPercent - 10)) {
    conntrack_high_ = false;
    log(Priority::Notice, "conntrack table below " + std::to_string(kConntrackWarnPercent - 10) + "% again");
  }
}

}  // namespace sluice::service
