// sluicectl: the operator's command line. Subcommands that talk to the
// daemon arrive with its control socket; validate works offline.
#include <iostream>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "service/ruleset.h"

namespace {

constexpr const char* kUsage =
    "usage: sluicectl [--version] [--help] COMMAND\n"
    "\n"
    "commands:\n"
    "  validate FILE   check a configuration file without a running daemon\n"
    "\n"
    "exit codes: 0 ok, 1 the file is invalid, 2 usage error\n";

int validate(const std::string& path) {
  auto loaded = sluice::service::load_ruleset(path);
  if (!loaded.ruleset) {
    std::cerr << sluice::config::format(loaded.diagnostics);
    std::cerr << path << ": " << loaded.diagnostics.size() << " error(s)\n";
    return 1;
  }
  std::cout << path << ": ok, " << loaded.ruleset->config.rules.size() << " rules\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    std::cout << "sluicectl " << SLUICE_VERSION << "\n";
    return 0;
  }
  if (args[0] == "validate") {
    if (args.size() != 2) {
      std::cerr << "sluicectl validate: expects exactly one FILE\n" << kUsage;
      return 2;
    }
    return validate(args[1]);
  }
  std::cerr << "sluicectl: unknown command '" << args[0] << "'\n" << kUsage;
  return 2;
}
