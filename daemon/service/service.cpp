#include "service/service.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "common/log.h"
#include "datapath/datapath.h"
#include "net/foreign_firewalls.h"
#include "service/containers.h"
#include "service/interfaces.h"
#include "store/database.h"
#include "store/flow_log.h"
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

Service::Service(ServiceOptions options, store::StateStore* state, std::string state_error)
    : flows_(std::make_shared<store::FlowLog>(options.database_path)),
      state_(state),
      state_error_(std::move(state_error)) {
  libbpf_set_print(libbpf_to_log);
  auto loaded = policy::load_ruleset(options.config_path, options.list_dirs);
  if (!loaded.ruleset) throw std::runtime_error(config::format(loaded.diagnostics));
  datapath_ = std::make_unique<datapath::Datapath>(
      datapath::DatapathOptions{options.pin_dir, loaded.ruleset->config.conntrack.entries,
                                loaded.ruleset->config.conntrack.other_entries});
  if (!datapath_->conntrack_size_note().empty())
    log(Priority::Notice, datapath_->conntrack_size_note());
  if (!datapath_->upgrade_note().empty()) log(Priority::Notice, datapath_->upgrade_note());
  if (!datapath_->discarded_pins().empty())
    log(Priority::Warning,
        "the maps pinned in " + options.pin_dir +
            " do not fit this version's datapath; started afresh (tracked flows are "
            "judged again by the rules): " +
            datapath_->discarded_pins());
  if (datapath_->adopted())
    log(Priority::Notice, "took over the datapath pinned in " + options.pin_dir + " (" +
                              std::to_string(datapath_->count_conntrack().flows) +
                              " tracked flows)");
  pipeline_ = std::make_unique<FlowPipeline>(*datapath_, flows_);
  conntrack_counted(datapath_->count_conntrack_tables());
  interfaces_ = std::make_unique<Interfaces>(*datapath_);
  // sluice-cni's default pending directory beside the default database.
  std::string pending;
  if (!options.database_path.empty())
    pending = (std::filesystem::path(options.database_path).parent_path() / "cni-pending").string();
  containers_ = std::make_unique<Containers>(*datapath_, options.database_path, pending);
  control_socket_ = options.control_socket;
  cni_pending_dir_ = pending;
  auto proxy_binary = options.proxy_binary;
  if (proxy_binary.empty()) {
    // Beside sluiced (a build tree), else where the packages put it
    // (/usr/sbin/sluiced: /usr/libexec/sluice/sluice-proxy).
    std::error_code ec;
    auto dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    proxy_binary = (dir / "sluice-proxy").string();
    if (!std::filesystem::exists(proxy_binary, ec))
      proxy_binary = (dir.parent_path() / "libexec/sluice/sluice-proxy").string();
  }
  proxy_ = std::make_unique<ProxySupervisor>(
      proxy_binary, *datapath_,
      [this](proxy::ProxyReport report) { pipeline_->record_l7(std::move(report.records)); });
  rulesets_ = std::make_unique<Rulesets>(options.config_path, options.list_dirs, *datapath_, state_,
                                         *pipeline_, *interfaces_);
  rulesets_->on_installed([this](const config::Config& cfg) { proxy_->configure(cfg); });
  // Containers taken back are known before the first ruleset goes live:
  // rules that select them find them.
  rulesets_->set_workloads(containers_->workloads());
  containers_->on_change([this] { rulesets_->set_workloads(containers_->workloads()); });
  rulesets_->start(std::move(*loaded.ruleset));
  if (auto moved = datapath_->finish_takeover())
    log(Priority::Notice, "moved " + std::to_string(moved) +
                              " more entries of other protocols than TCP, made by the previous "
                              "version's programs during the takeover, into their table");
  refresh();
  for (const auto& finding : net::foreign_firewalls())
    log(Priority::Warning, "another packet filter may judge the same traffic: " + finding);
}

Service::~Service() {
  if (keep_) {
    interfaces_->leave_attached();
    containers_->leave_attached();
    log(Priority::Notice, "leaving the datapath enforcing on " +
                              std::to_string(interfaces_->count()) + " interface(s) and " +
                              std::to_string(containers_->count()) + " container(s)");
    return;
  }
  interfaces_->detach_all();  // detach before the programs go
  containers_->detach_all();
  datapath_->unpin();
  log(Priority::Notice, "detached from every interface");
}

void Service::tick() {
  pipeline_->tick();
  rulesets_->tick();
  proxy_->tick();
}

Readings Service::readings() const { return Readings(*datapath_, conntrack_counted_); }

datapath::Datapath::ConntrackTableCounts Service::count_conntrack_tables() const {
  return datapath_->count_conntrack_tables();
}

void Service::conntrack_counted(const datapath::Datapath::ConntrackTableCounts& counted) {
  conntrack_counted_ = counted;
  pipeline_->conntrack_counted(counted);
}

std::vector<std::pair<std::string, std::string>> Service::interfaces() const {
  return interfaces_->list();
}

void Service::refresh() { rulesets_->refresh(); }

}  // namespace sluice::service
