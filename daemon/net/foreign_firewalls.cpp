#include "net/foreign_firewalls.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>

extern char** environ;

namespace sluice::net {

namespace {

// Runs a fixed program (no shell) and returns what it printed; empty when
// it is missing, fails, or takes more than two seconds.
std::string output_of(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return {};
  }
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{pipefd[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      kill(pid, SIGKILL);
      out.clear();
      break;
    }
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : std::string();
}

}  // namespace

std::vector<std::string> parse_iptables_save(const std::string& text, const std::string& tool) {
  std::vector<std::string> out;
  std::string table;
  std::map<std::string, std::string> policy;
  std::map<std::string, int> rules;
  std::vector<std::string> order;
  auto flush = [&] {
    for (const auto& chain : order) {
      bool docker = chain.rfind("DOCKER", 0) == 0;
      bool restrictive = policy.count(chain) && policy[chain] != "ACCEPT" && policy[chain] != "-";
      if (rules[chain] == 0 && !restrictive && !docker) continue;
      std::string line = tool + " " + table + " " + chain + ": " + std::to_string(rules[chain]) +
                         " rule" + (rules[chain] == 1 ? "" : "s");
      if (policy.count(chain) && policy[chain] != "-") line += ", policy " + policy[chain];
      if (docker) line += " (Docker)";
      out.push_back(line);
    }
    policy.clear();
    rules.clear();
    order.clear();
  };
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("*", 0) == 0) {
      table = line.substr(1);
    } else if (line.rfind(":", 0) == 0) {
      std::istringstream l(line.substr(1));
      std::string chain, pol;
      l >> chain >> pol;
      policy[chain] = pol;
      order.push_back(chain);
    } else if (line.rfind("-A ", 0) == 0) {
      std::istringstream l(line.substr(3));
      std::string chain;
      l >> chain;
      if (!rules.count(chain) && !policy.count(chain)) order.push_back(chain);
      rules[chain]++;
    } else if (line == "COMMIT") {
      flush();
    }
  }
  flush();
  return out;
}

std::vector<std::string> parse_nft_ruleset(const std::string& text) {
  // Tables that hook into the packet path, by name; iptables-nft's own
  // tables are reported through iptables-save instead.
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line, table;
  bool hooked = false;
  auto flush = [&] {
    if (!table.empty() && hooked) out.push_back("nftables " + table + ": has base chains (hooks)");
    hooked = false;
  };
  while (std::getline(in, line)) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    std::string t = line.substr(start);
    if (t.rfind("table ", 0) == 0) {
      flush();
      table = t.substr(6, t.find(" {") == std::string::npos ? std::string::npos : t.find(" {") - 6);
      bool iptables_nft =
          table.find(" filter") != std::string::npos || table.find(" nat") != std::string::npos ||
          table.find(" mangle") != std::string::npos || table.find(" raw") != std::string::npos;
      if (iptables_nft && (table.rfind("ip ", 0) == 0 || table.rfind("ip6 ", 0) == 0))
        table.clear();
    } else if (t.rfind("type filter hook", 0) == 0 || t.rfind("type nat hook", 0) == 0 ||
               t.rfind("type route hook", 0) == 0) {
      hooked = true;
    }
  }
  flush();
  return out;
}

std::vector<std::string> foreign_firewalls() {
  std::vector<std::string> out;
  for (const char* tool : {"iptables-save", "ip6tables-save"}) {
    auto found = parse_iptables_save(
        output_of({tool}), tool == std::string("iptables-save") ? "iptables" : "ip6tables");
    out.insert(out.end(), found.begin(), found.end());
  }
  auto nft = parse_nft_ruleset(output_of({"nft", "list", "ruleset"}));
  out.insert(out.end(), nft.begin(), nft.end());
  return out;
}

}  // namespace sluice::net
