#include "service/rulesets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "config/bounded_file.h"
#include "config/parser.h"
#include "datapath/bpf_error.h"
#include "datapath/datapath.h"
#include "policy/proxy_slots.h"
#include "service/flow_pipeline.h"
#include "service/interfaces.h"
#include "store/database.h"
#include "store/state_store.h"

namespace sluice::service {

Rulesets::Rulesets(std::string config_path, std::vector<std::string> list_dirs,
                   datapath::Datapath& datapath, store::StateStore* state, FlowPipeline& flows,
                   Interfaces& interfaces)
    : config_path_(std::move(config_path)),
      list_dirs_(std::move(list_dirs)),
      datapath_(datapath),
      state_(state),
      flows_(flows),
      interfaces_(interfaces),
      identities_(datapath, flows) {}

void Rulesets::start(policy::Ruleset from_file) {
  auto restore = resume_pending_confirm();
  apply(restore ? *restore : from_file);
  // The history starts with the version sluiced started with, unless it
  // is the one recorded last.
  if (!state_) return;
  try {
    auto last = state_->config_versions(1);
    auto same = !last.empty() && state_->config_version(last[0].id)->text == live_->text;
    if (!same) record_version("sluiced (start)", "", "start");
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("reading the config history: ") + e.what());
  }
}

void Rulesets::refresh() {
  flows_.forget_interfaces();  // an ifindex may have been reused
  interfaces_.refresh(*installed_);
}

config::Config Rulesets::with_workloads(const config::Config& cfg) const {
  auto out = policy::resolve_selectors(cfg, identities_.workloads());
  policy::add_published_ports(out, identities_.workloads());
  out.rules.insert(out.rules.end(), cluster_.rules.begin(), cluster_.rules.end());
  out.routes.insert(out.routes.end(), cluster_.routes.begin(), cluster_.routes.end());
  out.interfaces.insert(out.interfaces.end(), cluster_.interfaces.begin(),
                        cluster_.interfaces.end());
  out.vxlan = cluster_.vxlan;
  return out;
}

void Rulesets::install(const policy::Ruleset& ruleset) {
  auto started = Clock::now();
  auto installed = with_workloads(ruleset.config);
  auto slots = policy::assign_proxy_slots(installed, proxy_slots_);
  const auto* compiled = &ruleset.compiled;
  policy::CompiledPolicy resolved;
  if (policy::uses_selectors(ruleset.config) || !slots.empty() || !cluster_.rules.empty()) {
    resolved = policy::compile(installed);
    compiled = &resolved;
  }
  auto stats = datapath_.apply(*compiled);
  installed_ = std::move(installed);
  proxy_slots_ = std::move(slots);
  datapath_.release_idle_generation();
  ++apply_stats_.applied;
  apply_stats_.last_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // the clock bpf_ktime_get_ns() reads
  applied_at_ns_ = static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + now.tv_nsec;
  // The installed rules: NetworkPolicy's too, so that flows name them.
  flows_.ruleset_applied(*installed_, config_path_, stats.generation, applied_at_ns_);
  last_map_entries_ = stats.map_entries;
  last_generation_ = stats.generation;
  if (on_installed_) on_installed_(*installed_);
}

void Rulesets::set_workloads(std::vector<policy::Workload> workloads) {
  if (!live_) {  // before the first ruleset: it picks them up
    identities_.update(config::Config{}, std::move(workloads));
    return;
  }
  auto before = identities_.workloads();
  identities_.update(live_->config, std::move(workloads));
  if (!policy::uses_selectors(live_->config)) {
    installed_ = with_workloads(live_->config);
    refresh();  // published ports
    return;
  }
  try {
    install(*live_);
  } catch (const std::exception& e) {
    // The datapath keeps the rules of the workloads before (a compile or
    // map write failed): those the new ones would have changed wait for
    // the next change.
    log(Priority::Error, std::string("re-applying the rules for the containers of now: ") +
                             e.what() + "; the running ruleset stays");
    identities_.update(live_->config, std::move(before));
    return;
  }
  refresh();
  log(Priority::Info,
      "rules selecting containers re-applied: " + std::to_string(last_map_entries_) +
          " map entries, generation " + std::to_string(last_generation_));
}

void Rulesets::set_cluster(ClusterPart part) {
  auto before = std::move(cluster_);
  cluster_ = std::move(part);
  identities_.set_cluster_pods(cluster_.pods);
  if (!live_) return;  // the first ruleset picks it up
  try {
    identities_.update(live_->config, identities_.workloads());
    install(*live_);
  } catch (...) {
    cluster_ = std::move(before);
    identities_.set_cluster_pods(cluster_.pods);
    throw;
  }
  interfaces_.apply_routing(*installed_);  // routes to the other nodes' pods
  refresh();
  cluster_applied_at_ns_ = applied_at_ns_;
}

config::Containers Rulesets::container_pools() const {
  auto pools = live_ ? live_->config.containers : config::Containers{};
  if (!pools.ipv4 && !pools.ipv6) {
    pools.ipv4 = cluster_.pool_v4;
    pools.ipv6 = cluster_.pool_v6;
  }
  return pools;
}

void Rulesets::apply(const policy::Ruleset& ruleset) {
  install(ruleset);
  // Its [[endpoint]] labels may differ: the workloads are identified anew.
  identities_.update(ruleset.config, identities_.workloads());
  if (live_) previous_ = std::move(live_);
  live_ = ruleset;
  interfaces_.apply_routing(*installed_);
  const auto& c = ruleset.compiled;
  if (!c.prefilter_exempt.empty() || c.prefilter_left_out)
    log(Priority::Notice,
        "prefilter: " + std::to_string(c.prefilter_exempt.size()) +
            " management source(s) exempt from the blocklist, " +
            std::to_string(c.prefilter_left_out) +
            " blocked prefix(es) left out as wholly inside the management sources");
  log(Priority::Notice, "applied " + config_path_ + ": " +
                            std::to_string(ruleset.config.rules.size()) + " rules, " +
                            std::to_string(last_map_entries_) + " map entries, generation " +
                            std::to_string(last_generation_));
}

config::Diagnostics Rulesets::reload(const std::string& who) {
  return apply_loaded(policy::load_ruleset(config_path_, list_dirs_), std::nullopt, who, nullptr,
                      /*keep_pending=*/true)
      .diagnostics;
}

Rulesets::ApplyOutcome Rulesets::apply_file(std::optional<std::chrono::seconds> confirm_within,
                                            const std::string& who) {
  return apply_loaded(policy::load_ruleset(config_path_, list_dirs_), confirm_within, who, nullptr);
}

Rulesets::ApplyOutcome Rulesets::apply_text(const std::string& text,
                                            std::optional<std::chrono::seconds> confirm_within,
                                            const std::string& who) {
  auto loaded = policy::load_ruleset_text(text, config_path_, list_dirs_);
  return apply_loaded(std::move(loaded), confirm_within, who, &text);
}

namespace {

// Replaces the file at path with text in one step (a reader sees the old
// file or the new one), keeping its permissions. Returns an error or "".
std::string replace_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".sluice-new";
  struct stat st {};
  mode_t mode = stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
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

Rulesets::ApplyOutcome Rulesets::apply_loaded(policy::LoadResult loaded,
                                              std::optional<std::chrono::seconds> confirm_within,
                                              const std::string& who, const std::string* new_text,
                                              bool keep_pending) {
  ApplyOutcome out;
  if (!loaded.ruleset) {
    for (const auto& d : loaded.diagnostics) log(Priority::Error, d.to_string());
    log(Priority::Error, "apply by " + who +
                             " refused: " + std::to_string(loaded.diagnostics.size()) +
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
  } catch (const std::exception& e) {  // BpfError; CapacityError with selectors resolved
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
    log(Priority::Notice, "apply must be confirmed within " +
                              std::to_string(confirm_within->count()) + "s or it is rolled back");
  } else if (pending_ && keep_pending) {
    log(Priority::Notice, "the apply awaiting confirmation keeps its deadline");
  } else if (pending_) {
    set_pending(std::nullopt);
  }
  out.version = record_version(
      who, changes_text(out.changes),
      confirm_within ? "apply, confirm within " + std::to_string(confirm_within->count()) + "s"
                     : "apply");
  refresh();
  return out;
}

std::uint64_t Rulesets::record_version(const std::string& who, const std::string& diff,
                                       const std::string& what) {
  if (!state_) return 0;
  try {
    auto id = state_->add_config_version(who, config_path_, live_->text, diff);
    state_->audit(who, what,
                  "config version " + std::to_string(id) + (diff.empty() ? " (no changes)" : ""));
    return id;
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("recording the config version: ") + e.what());
    return 0;
  }
}

void Rulesets::audit(const std::string& who, const std::string& what, const std::string& detail) {
  if (!state_) return;
  try {
    state_->audit(who, what, detail);
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("writing the audit log: ") + e.what());
  }
}

bool Rulesets::confirm(const std::string& who) {
  if (!pending_) return false;
  set_pending(std::nullopt);
  log(Priority::Notice, "apply confirmed by " + who);
  audit(who, "confirm", "the last apply stays");
  return true;
}

bool Rulesets::rollback(std::string& why, const std::string& who) {
  std::optional<policy::Ruleset> target;
  if (pending_)
    target = pending_->restore;
  else if (previous_)
    target = previous_;
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
    log(Priority::Error,
        "rolled back, but " + file_problem + "; a reload or restart would apply the file as it is");
  log(Priority::Notice, "rolled back to the previous ruleset (" + who + ")");
  record_version(who, changes_text(changes), "rollback");
  refresh();
  return true;
}

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void Rulesets::set_pending(std::optional<PendingConfirm> pending) {
  pending_ = std::move(pending);
  if (!state_) return;
  try {
    if (!pending_) {
      state_->clear_pending_confirm();
      return;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(pending_->deadline - Clock::now());
    state_->save_pending_confirm({wall_ms() + left.count(), pending_->restore.text});
  } catch (const store::Error& e) {
    log(Priority::Error, std::string("keeping the confirm deadline across restarts: ") + e.what());
  }
}

std::optional<policy::Ruleset> Rulesets::resume_pending_confirm() {
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
    log(Priority::Error,
        "an apply awaited confirmation when sluiced stopped, but the ruleset to return to no "
        "longer "
        "loads; the config file's stays: " +
            config::format(restore.diagnostics));
    set_pending(std::nullopt);
    return std::nullopt;
  }
  auto left = std::chrono::milliseconds(stored->deadline_ms - wall_ms());
  if (left.count() > 0) {
    pending_ = PendingConfirm{Clock::now() + left,
                              std::move(*restore.ruleset)};  // the database has it already
    log(Priority::Notice,
        "an apply still awaits confirmation: rolled back in " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(left).count() + 1) +
            "s unless confirmed");
    return std::nullopt;
  }
  log(Priority::Warning,
      "an apply was not confirmed before its deadline passed (sluiced was stopped meanwhile): "
      "starting with the ruleset before it");
  if (auto err = replace_file(config_path_, stored->restore_text); !err.empty())
    log(Priority::Error,
        "rolled back, but " + err + "; a reload or restart would apply the file as it is");
  set_pending(std::nullopt);
  audit("sluiced (confirm deadline passed while stopped)", "rollback", "at start");
  return std::move(restore.ruleset);
}

void Rulesets::tick() {
  if (!pending_ || Clock::now() < pending_->deadline) return;
  log(Priority::Warning, "apply not confirmed in time: rolling back");
  std::string why;
  if (!rollback(why, "sluiced (confirm deadline passed)"))
    log(Priority::Error, "rollback failed: " + why);
}

}  // namespace sluice::service
