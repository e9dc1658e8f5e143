// sluice-cni: the CNI plugin. A container runtime runs it with CNI_*
// variables and the network configuration on stdin; it answers on stdout.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include "cli/control_client.h"
#include "cni/invocation.h"
#include "cni/plugin.h"

int main() {
  using namespace sluice::cni;
  std::string text;
  char buf[65536];
  // One byte past the limit is enough to refuse it.
  while (text.size() <= kMaxConfigBytes && std::cin.read(buf, sizeof buf).gcount() > 0)
    text.append(buf, static_cast<std::size_t>(std::cin.gcount()));
  auto read = read_invocation([](const char* name) { return std::getenv(name); }, text);
  if (auto* e = std::get_if<InvocationError>(&read)) {
    std::cout << to_json(e->error, e->cni_version).dump() << "\n";
    return 1;
  }
  const auto& inv = std::get<Invocation>(read);
  std::string socket = sluiced_socket(inv.config);
  return run(inv, std::cout, [&](const nlohmann::json& request, std::string& error) {
    return sluice::cli::ask_sluiced(socket, request, error);
  });
}
