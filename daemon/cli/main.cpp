// sluicectl: the operator's command line. `validate` works offline; every
// other command asks sluiced over its control socket. Output is for people
// unless --json is given (then the daemon's answer, as is).
//
// Exit codes: 0 ok, 1 refused or failed (bad config, nothing to confirm),
// 2 usage, 3 sluiced unreachable.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "config/diagnostics.h"
#include "service/ruleset.h"

namespace {

using nlohmann::json;

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

constexpr const char* kUsageText =
    "usage: sluicectl [--json] [--socket PATH] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  status                          what sluiced runs, where, and since when\n"
    "  validate FILE [--list-dir DIR]  check a configuration file (no daemon needed)\n"
    "  apply [--confirm-within DUR]    apply the configuration file atomically; with a\n"
    "                                  deadline (30s, 5m), roll back unless confirmed\n"
    "  confirm                         keep a ruleset applied with --confirm-within\n"
    "  rollback                        go back to the ruleset before the last apply\n"
    "  diff FILE                       what applying FILE would change, rule by rule\n"
    "  rules                           the rules in evaluation order, with hit counters\n"
    "  conntrack [--filter ADDRESS]    tracked flows\n"
    "  counters                        dropped packets by reason\n"
    "  flows [FILTERS] [--limit N] [--follow]\n"
    "                                  recent flow decisions, newest last; --follow keeps\n"
    "                                  printing new ones. FILTERS: --from ADDR, --to ADDR,\n"
    "                                  --address ADDR, --port N, --verdict allowed|dropped|\n"
    "                                  rejected|audit|translated|closed, --rule NAME,\n"
    "                                  --since T, --until T (T: 15m, 2h, 7d, or epoch seconds)\n"
    "  history [ID]                    applied config versions (who, when, what changed);\n"
    "                                  with ID, that version's text\n"
    "  audit [--limit N]               who changed what, newest first\n"
    "  user add NAME                   add a web UI/API user (password read from stdin)\n"
    "  user remove NAME | user list\n"
    "  token add NAME                  a read-only API token for scripts (shown once)\n"
    "  token remove NAME | token list\n"
    "\n"
    "exit codes: 0 ok, 1 refused or failed, 2 usage error, 3 sluiced unreachable\n";

struct Options {
  bool json = false;
  std::string socket = "/run/sluice/sluice.sock";
  std::vector<std::string> args;
};

int usage(const std::string& problem) {
  std::cerr << "sluicectl: " << problem << "\n" << kUsageText;
  return kUsage;
}

// Sends one request; the answer, or nullopt (reported) when sluiced cannot
// be reached.
std::optional<json> ask(const Options& o, const json& request) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, o.socket.c_str(), sizeof addr.sun_path - 1);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "sluicectl: cannot reach sluiced at " << o.socket << ": " << std::strerror(errno)
              << " (is it running? are you root?)\n";
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  std::string text = request.dump();
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::cerr << "sluicectl: sending to sluiced: " << std::strerror(errno) << "\n";
    close(fd);
    return std::nullopt;
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<std::size_t>(n));
  close(fd);
  json j = json::parse(answer, nullptr, false);
  if (j.is_discarded()) {
    std::cerr << "sluicectl: sluiced sent an answer that is not JSON\n";
    return std::nullopt;
  }
  return j;
}

// Left-aligned columns, the first row a header.
void table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i)
      line += r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 2, ' ') : "");
    std::cout << line << "\n";
  }
}

std::string str(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string protocol_name(int proto) {
  switch (proto) {
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case IPPROTO_SCTP: return "sctp";
    default: return "proto " + std::to_string(proto);
  }
}

// "drop", or "drop (audit)" when the verdict is only counted.
std::string action_text(const json& rule) {
  return str(rule["action"]) + (rule.value("mode", "enforce") == "audit" ? " (audit)" : "");
}

void print_diagnostics(const json& answer) {
  for (const auto& d : answer.value("diagnostics", json::array())) std::cerr << str(d["text"]) << "\n";
}

void print_changes(const json& changes) {
  if (changes.empty()) {
    std::cout << "no changes\n";
    return;
  }
  for (const auto& c : changes)
    std::cout << "  " << str(c["kind"]) << " " << str(c["what"]) << ": " << str(c["detail"]) << "\n";
}

// "90", "90s", "5m", "1h" -> seconds; nullopt when not a duration.
std::optional<long> parse_duration(const std::string& s) {
  std::size_t used = 0;
  long n = 0;
  try {
    n = std::stol(s, &used);
  } catch (const std::logic_error&) {
    return std::nullopt;
  }
  std::string unit = s.substr(used);
  long scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (scale == 0 || n <= 0) return std::nullopt;
  return n * scale;
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

int validate(const std::string& path, const std::vector<std::string>& list_dirs) {
  auto loaded = sluice::service::load_ruleset(path, list_dirs);
  if (!loaded.ruleset) {
    std::cerr << sluice::config::format(loaded.diagnostics);
    std::cerr << path << ": " << loaded.diagnostics.size() << " error(s)\n";
    return kFailed;
  }
  std::cout << path << ": ok, " << loaded.ruleset->config.rules.size() << " rules\n";
  return kOk;
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
  std::string why = f.contains("reason") ? str(f["reason"]) : f.contains("action") ? "would " + str(f["action"]) : "";
  std::string nat;
  if (f.contains("nat")) {
    const auto& n = f["nat"];
    nat = (str(n["kind"]) == "masquerade" ? " masq as " : " fwd from ") + endpoint(n["addr"], n["port"]);
  }
  std::string counts;
  if (f.contains("duration_ms"))
    counts = " " + str(f["packets"][0]) + "/" + str(f["packets"][1]) + " pkts " + str(f["bytes"][0]) + "/" +
             str(f["bytes"][1]) + " bytes " + str(f["duration_ms"]) + " ms";
  char line[512];
  std::snprintf(line, sizeof line, "%s%s %-10s %-7s %-24s %-6s %s -> %s%s on %s%s%s", when, ms,
                str(f["verdict"]).c_str(), str(f["chain"]).empty() ? "-" : str(f["chain"]).c_str(),
                rule.c_str(), str(f["proto"]).c_str(), endpoint(f["src"], f["sport"]).c_str(),
                endpoint(f["dst"], f["dport"]).c_str(), nat.c_str(), str(f["interface"]).c_str(),
                why.empty() ? "" : (" (" + why + ")").c_str(), counts.c_str());
  return line;
}

// `sluicectl flows`: one page, or with --follow a page then every new
// matching flow (asked for four times a second) until interrupted.
int flows(const Options& o) {
  json request = {{"command", "flows"}, {"filter", json::object()}, {"newest", true}};
  bool follow = false;
  const auto& a = o.args;
  for (std::size_t i = 1; i < a.size(); ++i) {
    static const char* terms[] = {"from", "to", "address", "port", "verdict", "rule", "since", "until"};
    std::string flag = a[i];
    if (flag == "--follow" || flag == "-f") {
      follow = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0) return usage("flows: unexpected argument '" + flag + "'");
    std::string name = flag.substr(2);
    if (i + 1 == a.size()) return usage("flows: " + flag + " needs a value");
    std::string value = a[++i];
    if (name == "limit") {
      try {
        request["limit"] = std::stoul(value);
      } catch (const std::logic_error&) {
        return usage("flows: --limit takes a number");
      }
    } else if (std::find(std::begin(terms), std::end(terms), name) != std::end(terms)) {
      request["filter"][name] = value;
    } else {
      return usage("flows: unknown option '" + flag + "'");
    }
  }
  bool header = false;
  for (;;) {
    auto answer = ask(o, request);
    if (!answer) return kUnreachable;
    if (!answer->value("ok", false)) {
      std::cerr << "sluicectl flows: " << answer->value("error", "failed") << "\n";
      return kFailed;
    }
    const auto& got = (*answer)["flows"];
    if (o.json && !follow) {
      std::cout << answer->dump(2) << "\n";
      return kOk;
    }
    for (const auto& f : got) {
      if (o.json) {
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

int run(const Options& o) {
  const auto& a = o.args;
  const std::string& cmd = a[0];
  json request = {{"command", cmd}};

  if (cmd == "validate") {
    // --list-dir as sluiced has it: where address lists may be read.
    std::vector<std::string> list_dirs;
    std::string file;
    for (std::size_t i = 1; i < a.size(); ++i) {
      if (a[i] == "--list-dir" && i + 1 < a.size()) list_dirs.push_back(a[++i]);
      else if (file.empty() && a[i].rfind("--", 0) != 0) file = a[i];
      else return usage("validate expects one FILE and optionally --list-dir DIR (repeatable)");
    }
    if (file.empty()) return usage("validate expects exactly one FILE");
    return validate(file, list_dirs);
  } else if (cmd == "flows") {
    return flows(o);
  } else if (cmd == "user" || cmd == "token") {
    if (a.size() == 2 && a[1] == "list") {
      request["command"] = cmd + "s";
    } else if (a.size() == 3 && (a[1] == "add" || a[1] == "remove")) {
      request["command"] = cmd + "_" + a[1];
      request["name"] = a[2];
      if (cmd == "user" && a[1] == "add") {
        auto password = read_password();
        if (!password) return kFailed;
        request["password"] = *password;
      }
    } else {
      return usage(cmd + " takes add NAME, remove NAME or list");
    }
  } else if (cmd == "history") {
    request["command"] = "config_history";
    if (a.size() == 2) {
      try {
        request["id"] = std::stoull(a[1]);
      } catch (const std::logic_error&) {
        return usage("history takes a version number");
      }
    } else if (a.size() != 1) {
      return usage("history takes at most a version number");
    }
  } else if (cmd == "audit") {
    if (a.size() == 3 && a[1] == "--limit") {
      try {
        request["limit"] = std::stoull(a[2]);
      } catch (const std::logic_error&) {
        return usage("audit --limit takes a number");
      }
    } else if (a.size() != 1) {
      return usage("audit takes only --limit N");
    }
  } else if (cmd == "status" || cmd == "confirm" || cmd == "rollback" || cmd == "rules" ||
             cmd == "counters") {
    if (a.size() != 1) return usage(cmd + " takes no arguments");
  } else if (cmd == "apply") {
    if (a.size() == 3 && a[1] == "--confirm-within") {
      auto secs = parse_duration(a[2]);
      if (!secs) return usage("'" + a[2] + "' is not a duration (e.g. 90s, 5m)");
      request["confirm_within_seconds"] = *secs;
    } else if (a.size() != 1) {
      return usage("apply takes only --confirm-within DURATION");
    }
  } else if (cmd == "diff") {
    if (a.size() != 2) return usage("diff expects exactly one FILE");
    request["path"] = std::filesystem::absolute(a[1]).string();
  } else if (cmd == "conntrack") {
    if (a.size() == 3 && a[1] == "--filter") request["filter"] = a[2];
    else if (a.size() != 1) return usage("conntrack takes only --filter ADDRESS");
  } else {
    return usage("unknown command '" + cmd + "'");
  }

  auto answer = ask(o, request);
  if (!answer) return kUnreachable;
  bool ok = answer->value("ok", false);
  if (o.json) {
    std::cout << answer->dump(2) << "\n";
    return ok ? kOk : kFailed;
  }
  if (!ok) {
    std::cerr << "sluicectl " << cmd << ": " << answer->value("error", "failed") << "\n";
    print_diagnostics(*answer);
    return kFailed;
  }

  const json& r = *answer;
  auto when = [](const json& ms) {
    std::time_t secs = ms.get<std::int64_t>() / 1000;
    std::tm tm{};
    localtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return std::string(buf);
  };
  if (cmd == "user" || cmd == "token") {
    if (a[1] == "list") {
      std::vector<std::vector<std::string>> rows = {{"NAME", "CREATED"}};
      for (const auto& u : r[cmd + "s"]) rows.push_back({str(u["name"]), when(u["created_ms"])});
      table(rows);
    } else if (cmd == "token" && a[1] == "add") {
      std::cout << str(r["token"]) << "\n";
      std::cerr << "read-only token '" << a[2] << "': shown only now; send it as 'Authorization: Bearer TOKEN'\n";
    } else {
      std::cout << cmd << " " << a[2] << (a[1] == "add" ? " added" : " removed") << "\n";
    }
  } else if (cmd == "history") {
    if (r.contains("version")) {
      const auto& v = r["version"];
      std::cout << "# version " << v["id"] << ", " << when(v["time_ms"]) << " by " << str(v["author"]) << "\n";
      std::istringstream diff(str(v["diff"]));
      for (std::string line; std::getline(diff, line);) std::cout << "#   " << line << "\n";
      std::cout << str(v["text"]);
    } else {
      std::vector<std::vector<std::string>> rows = {{"VERSION", "WHEN", "BY", "CHANGES"}};
      for (const auto& v : r["versions"]) {
        std::string diff = str(v["diff"]);
        auto lines = std::count(diff.begin(), diff.end(), '\n');
        rows.push_back({str(v["id"]), when(v["time_ms"]), str(v["author"]),
                        lines ? std::to_string(lines) + " change(s)" : "none"});
      }
      table(rows);
    }
  } else if (cmd == "audit") {
    std::vector<std::vector<std::string>> rows = {{"WHEN", "WHO", "WHAT", "DETAIL"}};
    for (const auto& e : r["entries"])
      rows.push_back({when(e["time_ms"]), str(e["who"]), str(e["what"]), str(e["detail"])});
    table(rows);
  } else if (cmd == "status") {
    std::cout << "sluiced " << str(r["version"]) << ", config " << str(r["config"]) << " ("
              << r["rules"] << " rules, generation " << r["generation"] << ", applied "
              << r["applied_seconds_ago"] << " s ago)\n";
    std::string itfs;
    for (const auto& i : r["interfaces"])
      itfs += (itfs.empty() ? "" : ", ") + str(i["name"]) + " (XDP " + str(i["xdp"]) + ")";
    std::cout << "interfaces: " << (itfs.empty() ? "none attached" : itfs) << "\n";
    std::cout << "conntrack: " << r["conntrack_entries"] << " of " << r["conntrack_capacity"] << " entries\n";
    const auto& fl = r["flows"];
    const auto& h = fl["history"];
    std::cout << "flows: " << fl["in_memory"] << " in memory (of " << fl["memory_capacity"] << "), history "
              << (h.contains("error") ? "FAILING: " + str(h["error"])
                  : h["enabled"].get<bool>() ? str(h["path"]) + " (" + str(h["written"]) + " written)"
                                            : std::string("off"))
              << "\n";
    std::cout << "events lost: " << r["events_lost"]["ring_full"] << " (ring full), "
              << r["events_lost"]["rate_limited"] << " (drop events over the per-source rate), "
              << h["lost"] << " (history behind or failing)\n";
    if (r.contains("confirm_within_seconds"))
      std::cout << "waiting for confirmation: rolls back in " << r["confirm_within_seconds"]
                << " s unless `sluicectl confirm`\n";
    std::cout << "\n";
    std::vector<std::vector<std::string>> rows = {{"MAP", "ENTRIES", "CAPACITY", "FILL", "MEMORY"}};
    for (const auto& m : r["maps"]) {
      double fill = 100.0 * m["entries"].get<double>() / std::max(1.0, m["capacity"].get<double>());
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.1f%%", fill);
      rows.push_back({str(m["name"]), str(m["entries"]), str(m["capacity"]), pct,
                      std::to_string(m["memory_bytes"].get<std::uint64_t>() / 1024) + " KiB"});
    }
    table(rows);
  } else if (cmd == "apply") {
    std::cout << "applied\n";
    print_changes(r["changes"]);
    if (r.contains("confirm_within_seconds"))
      std::cout << "confirm within " << r["confirm_within_seconds"]
                << " s with `sluicectl confirm`, or the previous ruleset comes back\n";
  } else if (cmd == "confirm") {
    std::cout << "confirmed\n";
  } else if (cmd == "rollback") {
    std::cout << "rolled back\n";
  } else if (cmd == "diff") {
    print_changes(r["changes"]);
  } else if (cmd == "rules") {
    std::vector<std::vector<std::string>> rows = {
        {"#", "CHAIN", "NAME", "FROM", "TO", "MATCH", "ACTION", "PACKETS", "BYTES"}};
    for (const auto& x : r["rules"])
      rows.push_back({str(x["index"]), str(x["chain"]), str(x["name"]), str(x["from"]), str(x["to"]),
                      str(x["match"]), action_text(x), str(x["packets"]), str(x["bytes"])});
    for (const auto& d : r["defaults"])
      rows.push_back({"-", str(d["chain"]), "(default)", "", "", "", action_text(d), str(d["packets"]),
                      str(d["bytes"])});
    table(rows);
  } else if (cmd == "conntrack") {
    std::vector<std::vector<std::string>> rows = {
        {"PROTO", "SOURCE", "DESTINATION", "NAT", "STATE", "PACKETS", "BYTES", "RULE", "AGE"}};
    for (const auto& e : r["entries"]) {
      // NAT as the outside sees the flow: the source it appears with, the
      // destination the originator actually used.
      std::string nat;
      const auto& n = e["nat"];
      if (n.contains("masquerade"))
        nat = "masq as " + str(n["masquerade"]["addr"]) + ":" + str(n["masquerade"]["port"]);
      if (n.contains("port_forward"))
        nat += (nat.empty() ? "" : ", ") + std::string("fwd from ") + str(n["port_forward"]["addr"]) + ":" +
               str(n["port_forward"]["port"]);
      int proto = e["proto"].get<int>();
      bool icmp = proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
      // ICMP has no ports: the conntrack key carries the echo id in both.
      std::string what = protocol_name(proto);
      if (icmp && e["sport"].get<int>() != 0) what += " id " + str(e["sport"]);
      auto end = [&](const json& addr, const json& port) {
        std::string a = str(addr);
        if (icmp) return a;
        return (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + str(port);
      };
      rows.push_back({what, end(e["src"], e["sport"]), end(e["dst"], e["dport"]), nat.empty() ? "-" : nat,
                      str(e["state"]),
                      str(e["packets"][0]) + "/" + str(e["packets"][1]),
                      str(e["bytes"][0]) + "/" + str(e["bytes"][1]), str(e["rule"]),
                      str(e["age_seconds"]) + "s"});
    }
    table(rows);
  } else if (cmd == "counters") {
    std::vector<std::vector<std::string>> rows = {{"DROP REASON", "PACKETS", "BYTES"}};
    for (const auto& d : r["drops"]) rows.push_back({str(d["reason"]), str(d["packets"]), str(d["bytes"])});
    table(rows);
    std::cout << "\n";
    std::vector<std::vector<std::string>> audit = {{"LET THROUGH BY AUDIT MODE", "PACKETS", "BYTES"}};
    for (const auto& d : r["audited"])
      audit.push_back({"would " + str(d["would"]), str(d["packets"]), str(d["bytes"])});
    table(audit);
    std::cout << "\n";
    std::vector<std::vector<std::string>> nat = {{"NAT", "PACKETS", "BYTES"}};
    for (const auto& d : r["nat"]) nat.push_back({str(d["what"]), str(d["packets"]), str(d["bytes"])});
    table(nat);
    std::cout << "\n";
    std::vector<std::vector<std::string>> fast = {{"FAST PATH", "PACKETS", "BYTES"}};
    for (const auto& d : r["fast_path"]) fast.push_back({str(d["what"]), str(d["packets"]), str(d["bytes"])});
    table(fast);
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (o.args.empty() && arg == "--json") {
      o.json = true;
    } else if (o.args.empty() && arg == "--socket") {
      if (++i == argc) return usage("--socket needs a PATH");
      o.socket = argv[i];
    } else if (o.args.empty() && (arg == "--help" || arg == "-h")) {
      std::cout << kUsageText;
      return kOk;
    } else if (o.args.empty() && arg == "--version") {
      std::cout << "sluicectl " << SLUICE_VERSION << "\n";
      return kOk;
    } else if (o.args.empty() && arg.rfind("-", 0) == 0) {
      return usage("unknown option '" + arg + "'");
    } else {
      o.args.push_back(arg);
    }
  }
  if (o.args.empty()) return usage("no command given");
  return run(o);
}
