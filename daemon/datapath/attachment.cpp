#include "datapath/attachment.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <tuple>
#include <utility>

#include "datapath/bpf_error.h"
#include "datapath/datapath.h"

namespace sluice::datapath {

namespace {

// sluice's tc filters sit at this handle and priority on every interface.
constexpr __u32 kTcHandle = 1;
constexpr __u32 kTcPriority = 1;

enum class Owner { Sluice, Other, Unknown };

// Whose an attached XDP program is. The pinned id answers without
// privileges; failing that, the program's name (sluice's are sluice_*),
// which needs CAP_SYS_ADMIN to look up by id: without it, Unknown.
Owner owner(const Datapath& dp, __u32 prog_id) {
  if (dp.owns_xdp_program(prog_id)) return Owner::Sluice;
  int fd = bpf_prog_get_fd_by_id(prog_id);
  if (fd < 0) return errno == EPERM ? Owner::Unknown : Owner::Other;
  bpf_prog_info info{};
  __u32 len = sizeof info;
  bool ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
              std::string_view(info.name).rfind("sluice_", 0) == 0;
  close(fd);
  return ours ? Owner::Sluice : Owner::Other;
}

// The flags for attaching XDP in mode. Replacing is allowed only when what
// is attached now is sluice's own (a restart); otherwise attach only where
// nothing is. A program that cannot be told apart (a sluice from before
// programs were pinned, running under the unit without CAP_SYS_ADMIN) is
// taken for sluice's only when a previous sluiced's pins were found.
int xdp_flags(const Datapath& dp, int ifindex, XdpMode mode, const std::string& ifname) {
  int mode_flag = mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  __u32 current = 0;
  if (bpf_xdp_query_id(ifindex, mode_flag, &current) == 0 && current != 0) {
    auto who = owner(dp, current);
    if (who == Owner::Other || (who == Owner::Unknown && !dp.found_previous()))
      throw BpfError(ifname + " already has an XDP program (id " + std::to_string(current) +
                         ") that is not sluice's; refusing to replace it",
                     EBUSY);
    return mode_flag;
  }
  return mode_flag | XDP_FLAGS_UPDATE_IF_NOEXIST;
}

}  // namespace

Attachment::Attachment(const Datapath& dp, const std::string& ifname, Hooks hooks)
    : ifname_(ifname) {
  ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex_ == 0) throw BpfError("interface " + ifname, errno);
  try {
    if (hooks == Hooks::XdpAndTc) attach_xdp(dp);

    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_,
                .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
    int rc = bpf_tc_hook_create(&hook);
    if (rc != -EEXIST) check(rc, "creating clsact on " + ifname);
    clsact_created_ = rc == 0;

    for (auto [point, fd, flag] : {std::tuple{BPF_TC_INGRESS, dp.tc_ingress_fd(), &tc_ingress_},
                                   std::tuple{BPF_TC_EGRESS, dp.tc_egress_fd(), &tc_egress_}}) {
      hook.attach_point = point;
      // Our handle and priority are our slot: replace what a previous
      // sluiced left there.
      LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd, .flags = BPF_TC_F_REPLACE, .handle = kTcHandle,
                  .priority = kTcPriority);
      check(bpf_tc_attach(&hook, &opts), std::string("attaching tc ") +
                                             (point == BPF_TC_INGRESS ? "ingress" : "egress") +
                                             " to " + ifname);
      *flag = true;
    }
  } catch (const BpfError&) {
    detach();
    throw;
  }
}

Attachment::~Attachment() { detach(); }

void Attachment::attach_xdp(const Datapath& dp) {
  if (bpf_xdp_attach(ifindex_, dp.xdp_ingress_fd(),
                     xdp_flags(dp, ifindex_, XdpMode::Native, ifname_), nullptr) == 0) {
    xdp_mode_ = XdpMode::Native;
  } else {
    check(bpf_xdp_attach(ifindex_, dp.xdp_ingress_fd(),
                         xdp_flags(dp, ifindex_, XdpMode::Generic, ifname_), nullptr),
          "attaching XDP to " + ifname_);
    xdp_mode_ = XdpMode::Generic;
  }
  xdp_ = true;
}

void Attachment::leave_attached() noexcept {
  xdp_ = tc_ingress_ = tc_egress_ = clsact_created_ = false;
}

void Attachment::detach() noexcept {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_);
  for (auto [point, flag] :
       {std::pair{BPF_TC_INGRESS, &tc_ingress_}, std::pair{BPF_TC_EGRESS, &tc_egress_}}) {
    if (!*flag) continue;
    hook.attach_point = point;
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
    bpf_tc_detach(&hook, &opts);
    *flag = false;
  }
  if (clsact_created_) {
    // Only a clsact qdisc sluice created is removed with it.
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);
    clsact_created_ = false;
  }
  if (xdp_) {
    bpf_xdp_detach(ifindex_, xdp_mode_ == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE,
                   nullptr);
    xdp_ = false;
  }
}

}  // namespace sluice::datapath
