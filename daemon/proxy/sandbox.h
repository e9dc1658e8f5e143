// The proxy's confinement beyond running as its own user without
// capabilities (which sluiced arranges before exec): no new privileges,
// and a seccomp filter that allows only the system calls an event loop of
// sockets needs; anything else kills the process.
#pragma once

namespace sluice::proxy {

// For the calling thread: each of the proxy's threads calls it for
// itself. Throws std::system_error when the filter cannot be installed.
void enter_sandbox();

}  // namespace sluice::proxy
