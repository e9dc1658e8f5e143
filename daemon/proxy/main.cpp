// sluice-proxy: the L7 proxy process. sluiced starts it as its own user,
// without capabilities, with one end of a socket pair on --control-fd;
// everything else (rules, listeners) comes over that socket. docs/l7.md.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "proxy/proxy_server.h"
#include "proxy/sandbox.h"

int main(int argc, char** argv) {
  int control = -1;
  int workers = 0;  // one per CPU
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--control-fd") == 0) control = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--workers") == 0) workers = std::atoi(argv[i + 1]);
  }
  if (workers <= 0) workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (control < 3 || fcntl(control, F_GETFD) < 0) {
    std::fprintf(stderr,
                 "sluice-proxy: needs --control-fd N, the socket sluiced starts it with; it is "
                 "not run by hand\n");
    return 2;
  }
  if (getuid() == 0 || geteuid() == 0) {
    std::fprintf(stderr, "sluice-proxy: refusing to run as root: it parses untrusted input\n");
    return 2;
  }
  try {
    fcntl(control, F_SETFL, fcntl(control, F_GETFL) | O_NONBLOCK);
    // Each worker enters the sandbox as it starts; then this thread.
    sluice::proxy::ProxyServer server(control, static_cast<unsigned>(std::min(workers, 256)));
    sluice::proxy::enter_sandbox();
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sluice-proxy: %s\n", e.what());
    return 1;
  }
  return 0;
}
