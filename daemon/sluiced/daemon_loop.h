// sluiced's event loop: signals, the control socket, datapath events,
// netlink notifications, the periodic refresh and the systemd watchdog.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "service/service.h"

namespace sluice::sluiced {

struct DaemonOptions {
  service::ServiceOptions service;
  std::string socket_path = "/run/sluice/sluice.sock";
  bool keep_datapath = false;  // on stop, leave the datapath enforcing
  std::string webui_dir = "/usr/share/sluice/webui";
  // Members of this group may use the control socket's read-only commands.
  std::optional<gid_t> socket_group;
};

// Runs until SIGTERM/SIGINT; returns the exit code. Throws when it cannot
// start (the message says why).
int run_daemon(const DaemonOptions& options);

}  // namespace sluice::sluiced
