#include "cli/runners.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>

#include "cli/control_client.h"
#include "cli/render.h"
#include "commands/catalog.h"
#include "config/diagnostics.h"
#include "policy/ruleset.h"

namespace sluice::cli {
namespace {

int usage_error(const std::string& problem) {
  std::cerr << "sluicectl: " << problem << " (sluicectl --help lists the commands)\n";
  return kUsage;
}

// A password from the terminal (asked twice, not echoed) or, piped, the
// first line of stdin.
std::optional<std::string> read_password() {
  if (!isatty(STDIN_FILENO)) {
    std::string line;
    if (!std::getline(std::cin, line)) {
      std::cerr << "sluicectl: no password on stdin\n";
      return std::nullopt;
    }
    return line;
  }
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string first, second;
  std::cerr << "password: ";
  std::getline(std::cin, first);
  std::cerr << "\nagain: ";
  std::getline(std::cin, second);
  std::cerr << "\n";
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (first != second) {
    std::cerr << "sluicectl: the passwords differ\n";
    return std::nullopt;
  }
  return first;
}

// One flow per line: time, verdict, rule, the flow, where.
std::string flow_line(const json& f) {
  std::time_t secs = f["time_ms"].get<std::int64_t>() / 1000;
  std::tm tm{};
  localtime_r(&secs, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%H:%M:%S", &tm);
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>(f["time_ms"].get<std::int64_t>() % 1000));
  auto endpoint = [](const json& addr, const json& port) {
    std::string a = str(addr);
    if (a.find(':') != std::string::npos) a = "[" + a + "]";
    return port.get<int>() ? a + ":" + str(port) : a;
  };
  std::string rule = str(f["rule"]);
  if (f.contains("rule_at")) rule += " (line " + str(f["rule_at"]["line"]) + ")";
  if (rule.empty()) rule = "-";
  std::string why = f.contains("reason")   ? str(f["reason"])
                    : f.contains("action") ? "would " + str(f["action"])
                                           : "";
  std::string nat;
  if (f.contains("nat")) {
    const auto& n = f["nat"];
    nat = (str(n["kind"]) == "masquerade" ? " masq as " : " fwd from ") +
          endpoint(n["addr"], n["port"]);
  }
  std::string counts;
  if (f.contains("duration_ms"))
    counts = " " + str(f["packets"][0]) + "/" + str(f["packets"][1]) + " pkts " +
             str(f["bytes"][0]) + "/" + str(f["bytes"][1]) + " bytes " + str(f["duration_ms"]) +
             " ms";
  // Containers are named beside their addresses (CNI mode).
  auto src = endpoint(f["src"], f["sport"]), dst = endpoint(f["dst"], f["dport"]);
  if (f.contains("src_workload")) src += " " + str(f["src_workload"]);
  if (f.contains("dst_workload")) dst += " " + str(f["dst_workload"]);
  char head[320];
  std::snprintf(head, sizeof head, "%s%s %-10s %-7s %-24s %-6s ", when, ms,
                str(f["verdict"]).c_str(), str(f["chain"]).empty() ? "-" : str(f["chain"]).c_str(),
                rule.c_str(), str(f["proto"]).c_str());
  // The proxy's records say what was asked and answered instead of where.
  std::string where = " on " + str(f["interface"]);
  if (f.contains("l7")) {
    const auto& l7 = f["l7"];
    where = " " + str(l7["kind"]);
    if (l7.contains("sni")) where += " sni " + str(l7["sni"]);
    if (l7.contains("method")) where += " " + str(l7["method"]);
    if (l7.contains("host")) where += " " + str(l7["host"]);
    if (l7.contains("path")) where += " " + str(l7["path"]);
    if (l7["status"].get<int>()) where += " -> " + str(l7["status"]);
    where += " " + std::to_string(l7["latency_us"].get<std::uint64_t>() / 1000) + " ms";
  }
  return head + src + " -> " + dst + nat + where + (why.empty() ? "" : " (" + why + ")") + counts;
}

// The flows request from the arguments; "" or what is wrong.
std::string parse_flows(const std::vector<std::string>& a, json& request, bool& follow) {
  const auto& query = commands::find("flows")->query;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string& flag = a[i];
    if (flag == "--follow" || flag == "-f") {
      follow = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0) return "flows: unexpected argument '" + flag + "'";
    std::string name = flag.substr(2);
    if (i + 1 == a.size()) return "flows: " + flag + " needs a value";
    const std::string& value = a[++i];
    if (name == "limit") {
      try {
        request["limit"] = std::stoul(value);
      } catch (const std::logic_error&) {
        return "flows: --limit takes a number";
      }
    } else if (std::any_of(query.begin(), query.end(),
                           [&](const auto& q) { return q.in_filter && q.name == name; })) {
      request["filter"][name] = value;
    } else {
      return "flows: unknown option '" + flag + "'";
    }
  }
  return "";
}

}  // namespace

int request_and_render(const Invocation& inv, const json& request, Render render) {
  std::string error;
  auto answer = ask_sluiced(inv.socket, request, error);
  if (!answer) {
    std::cerr << "sluicectl: " << error << "\n";
    return kUnreachable;
  }
  bool ok = answer->value("ok", false);
  if (inv.json) {
    std::cout << answer->dump(2) << "\n";
    return ok ? kOk : kFailed;
  }
  if (!ok) {
    print_refusal(request["command"], *answer);
    return kFailed;
  }
  if (render)
    render(*answer, request);
  else
    render_generic(*answer);
  return kOk;
}

int run_validate(const Invocation& inv) {
  // --list-dir as sluiced has it: where address lists may be read.
  std::vector<std::string> list_dirs;
  std::string file;
  const auto& a = inv.args;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--list-dir" && i + 1 < a.size())
      list_dirs.push_back(a[++i]);
    else if (file.empty() && a[i].rfind("--", 0) != 0)
      file = a[i];
    else
      return usage_error("validate expects one FILE and optionally --list-dir DIR (repeatable)");
  }
  if (file.empty()) return usage_error("validate expects exactly one FILE");
  auto loaded = policy::load_ruleset(file, list_dirs);
  if (!loaded.ruleset) {
    std::cerr << config::format(loaded.diagnostics);
    std::cerr << file << ": " << loaded.diagnostics.size() << " error(s)\n";
    return kFailed;
  }
  std::cout << file << ": ok, " << loaded.ruleset->config.rules.size() << " rules\n";
  return kOk;
}

int run_flows(const Invocation& inv) {
  json request = {{"command", "flows"}, {"filter", json::object()}, {"newest", true}};
  bool follow = false;
  if (auto problem = parse_flows(inv.args, request, follow); !problem.empty())
    return usage_error(problem);
  bool header = false;
  for (;;) {
    std::string error;
    auto answer = ask_sluiced(inv.socket, request, error);
    if (!answer) {
      std::cerr << "sluicectl: " << error << "\n";
      return kUnreachable;
    }
    if (!answer->value("ok", false)) {
      print_refusal("flows", *answer);
      return kFailed;
    }
    const auto& got = (*answer)["flows"];
    if (inv.json && !follow) {
      std::cout << answer->dump(2) << "\n";
      return kOk;
    }
    for (const auto& f : got) {
      if (inv.json) {
        std::cout << f.dump() << "\n";
        continue;
      }
      if (!header) {
        std::cout << "TIME         VERDICT    CHAIN   RULE                     PROTO  FLOW\n";
        header = true;
      }
      std::cout << flow_line(f) << "\n";
    }
    std::cout.flush();
    if (!follow) return kOk;
    // Next time: only what came after, oldest first, none skipped.
    std::uint64_t limit = request.value("limit", 100);
    request["after"] = got.size() == limit ? got.back()["id"].get<std::uint64_t>()
                                           : (*answer)["last_id"].get<std::uint64_t>();
    request["newest"] = false;
    if (!got.empty() && got.size() == limit) continue;
    usleep(250 * 1000);
  }
}

int run_user_add(const Invocation& inv) {
  json request = {{"command", "user_add"}};
  if (auto problem = parse_name(inv.args, request); !problem.empty()) return usage_error(problem);
  auto password = read_password();
  if (!password) return kFailed;
  request["password"] = *password;
  return request_and_render(inv, request, render_account_change);
}

}  // namespace sluice::cli
