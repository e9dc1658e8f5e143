// systemd's service notifications (sd_notify(3)) without libsystemd: a
// datagram to $NOTIFY_SOCKET. Everything is a no-op when not run by
// systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace sluice::sluiced {

// Sends state ("READY=1", "RELOADING=1", "WATCHDOG=1", "STATUS=...").
void notify(const std::string& state);

// How often systemd expects "WATCHDOG=1" ($WATCHDOG_USEC, for this pid).
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace sluice::sluiced
