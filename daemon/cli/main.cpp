// sluicectl: the operator's command line. `validate` works offline; every
// other command asks sluiced over its control socket. Output is for people
// unless --json is given (then the daemon's answer, as is). The commands,
// their synopses and help come from the catalog (commands/catalog.h);
// cli/bindings.cpp says how each one's arguments and answer are handled.
//
// Exit codes: 0 ok, 1 refused or failed (bad config, nothing to confirm),
// 2 usage, 3 sluiced unreachable.
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/bindings.h"
#include "commands/catalog.h"

namespace {

using namespace sluice;
using cli::kOk, cli::kUsage;

std::vector<std::string> words_of(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "  synopsis   summary", the summary wrapped under its column.
std::string help_line(const commands::Command& c) {
  constexpr std::size_t kColumn = 34, kWidth = 86;
  std::string synopsis =
      "  " + std::string(c.cli_words) + (c.cli_args.empty() ? "" : " " + std::string(c.cli_args));
  std::string out = synopsis, line = synopsis;
  if (line.size() + 2 > kColumn) {
    out += "\n";
    line.clear();
  }
  auto pad = [&] {
    out += std::string(kColumn - line.size(), ' ');
    line.assign(kColumn, ' ');
  };
  pad();
  for (const auto& w : words_of(c.summary)) {
    if (line.size() > kColumn && line.size() + 1 + w.size() > kWidth) {
      out += "\n";
      line.clear();
      pad();
    } else if (line.size() > kColumn) {
      out += " ";
      line += " ";
    }
    out += w;
    line += w;
  }
  return out + "\n";
}

std::string usage_text() {
  std::string text = "usage: sluicectl [--json] [--socket PATH] COMMAND [ARGS]\n\ncommands:\n";
  for (const auto& c : commands::catalog())
    if (!c.cli_words.empty()) text += help_line(c);
  return text + "\nexit codes: 0 ok, 1 refused or failed, 2 usage error, 3 sluiced unreachable\n";
}

int usage(const std::string& problem) {
  std::cerr << "sluicectl: " << problem << "\n" << usage_text();
  return kUsage;
}

// The command whose words begin args (the longest such), or nullptr.
const commands::Command* select(const std::vector<std::string>& args, std::size_t& used) {
  const commands::Command* best = nullptr;
  used = 0;
  for (const auto& c : commands::catalog()) {
    auto words = words_of(c.cli_words);
    if (words.empty() || words.size() > args.size() || words.size() <= used) continue;
    if (std::equal(words.begin(), words.end(), args.begin())) {
      best = &c;
      used = words.size();
    }
  }
  return best;
}

// What the commands beginning with word take, for a usage error.
std::string alternatives(const std::string& word) {
  std::string out;
  for (const auto& c : commands::catalog()) {
    auto words = words_of(c.cli_words);
    if (words.size() < 2 || words[0] != word) continue;
    out += (out.empty() ? "" : ", ") + std::string(c.cli_words.substr(word.size() + 1)) +
           (c.cli_args.empty() ? "" : " " + std::string(c.cli_args));
  }
  return out;
}

int run(cli::Invocation inv) {
  std::size_t used = 0;
  const auto* command = select(inv.args, used);
  if (!command) {
    auto options = alternatives(inv.args[0]);
    if (!options.empty()) return usage(inv.args[0] + " takes " + options);
    return usage("unknown command '" + inv.args[0] + "'");
  }
  inv.args.erase(inv.args.begin(), inv.args.begin() + static_cast<long>(used));
  const auto* binding = cli::binding_for(command->name);
  if (binding && binding->run) return binding->run(inv);
  nlohmann::json request = {{"command", std::string(command->name)}};
  if (binding && binding->parse) {
    if (auto problem = binding->parse(inv.args, request); !problem.empty()) return usage(problem);
  } else if (!inv.args.empty()) {
    return usage(std::string(command->cli_words) + " takes no arguments");
  }
  return cli::request_and_render(inv, request, binding ? binding->render : nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  cli::Invocation inv;
  inv.socket = "/run/sluice/sluice.sock";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (inv.args.empty() && arg == "--json") {
      inv.json = true;
    } else if (inv.args.empty() && arg == "--socket") {
      if (++i == argc) return usage("--socket needs a PATH");
      inv.socket = argv[i];
    } else if (inv.args.empty() && (arg == "--help" || arg == "-h")) {
      std::cout << usage_text();
      return kOk;
    } else if (inv.args.empty() && arg == "--version") {
      std::cout << "sluicectl " << SLUICE_VERSION << "\n";
      return kOk;
    } else if (inv.args.empty() && arg.rfind("-", 0) == 0) {
      return usage("unknown option '" + arg + "'");
    } else {
      inv.args.push_back(arg);
    }
  }
  if (inv.args.empty()) return usage("no command given");
  return run(std::move(inv));
}
