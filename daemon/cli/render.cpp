#include "cli/render.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>

namespace sluice::cli {
namespace {

std::string protocol_name(int proto) {
  switch (proto) {
    case IPPROTO_ICMP:
      return "icmp";
    case IPPROTO_TCP:
      return "tcp";
    case IPPROTO_UDP:
      return "udp";
    case IPPROTO_ICMPV6:
      return "icmpv6";
    case IPPROTO_SCTP:
      return "sctp";
    default:
      return "proto " + std::to_string(proto);
  }
}

// "drop", or "drop (audit)" when the verdict is only counted.
std::string action_text(const json& rule) {
  return str(rule["action"]) + (rule.value("mode", "enforce") == "audit" ? " (audit)" : "");
}

void print_changes(const json& changes) {
  if (changes.empty()) {
    std::cout << "no changes\n";
    return;
  }
  for (const auto& c : changes)
    std::cout << "  " << str(c["kind"]) << " " << str(c["what"]) << ": " << str(c["detail"])
              << "\n";
}

void counter_table(const char* title, const json& rows, const char* key, const char* prefix = "") {
  std::vector<std::vector<std::string>> out = {{title, "PACKETS", "BYTES"}};
  for (const auto& d : rows)
    out.push_back({prefix + str(d[key]), str(d["packets"]), str(d["bytes"])});
  table(out);
}

// A tracked flow's NAT as the outside sees it: the source it appears
// with, the destination the originator actually used.
std::string conntrack_nat(const json& n) {
  std::string nat;
  if (n.contains("masquerade"))
    nat = "masq as " + str(n["masquerade"]["addr"]) + ":" + str(n["masquerade"]["port"]);
  if (n.contains("port_forward"))
    nat += (nat.empty() ? "" : ", ") + std::string("fwd from ") + str(n["port_forward"]["addr"]) +
           ":" + str(n["port_forward"]["port"]);
  return nat.empty() ? "-" : nat;
}

}  // namespace

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

std::string local_time(const json& ms) {
  std::time_t secs = ms.get<std::int64_t>() / 1000;
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

namespace {

// Kubernetes mode: the cluster's state applied last, and how each
// collection's watch of the API server is doing.
void render_kubernetes(const json& k) {
  if (k["state"].get<std::uint64_t>() == 0)
    std::cout << "kubernetes: waiting for the API server's first complete list\n";
  else
    std::cout << "kubernetes: node " << str(k["node"]) << ", state " << k["state"] << ": "
              << k["pods"] << " pods, " << k["network_policies"] << " network policies -> "
              << k["rules"] << " rules, " << k["routes"] << " routes to other nodes ("
              << str(k["tunnel"]) << "), applied " << k["applied_seconds_ago"] << " s ago\n";
  for (const auto& w : k.value("watch", json::array())) {
    std::cout << "  watch " << str(w["collection"]) << ": "
              << (w["listed"].get<bool>() ? "listed, " : "not listed yet, ") << w["objects"]
              << " objects; " << w["lists"] << " lists, " << w["events"] << " events, "
              << w["relists_gone"] << " relists on 410 Gone, " << w["rejected"] << " rejected";
    if (w.contains("last_problem"))
      std::cout << "; last problem " << local_time(w["last_problem_ms"]) << ": "
                << str(w["last_problem"]);
    std::cout << "\n";
  }
}

}  // namespace

void render_status(const json& r, const json&) {
  std::cout << "sluiced " << str(r["version"]) << ", config " << str(r["config"]) << " ("
            << r["rules"] << " rules, generation " << r["generation"] << ", applied "
            << r["applied_seconds_ago"] << " s ago)\n";
  std::string itfs;
  for (const auto& i : r["interfaces"])
    itfs += (itfs.empty() ? "" : ", ") + str(i["name"]) + " (XDP " + str(i["xdp"]) + ")";
  std::cout << "interfaces: " << (itfs.empty() ? "none attached" : itfs) << "\n";
  std::cout << "conntrack: " << r["conntrack_entries"] << " of " << r["conntrack_capacity"]
            << " entries";
  if (r.contains("conntrack_translations"))
    std::cout << " (" << r["conntrack_translations"] << " of them translations)";
  if (const auto& t = r["conntrack_tables"]; t.contains("tcp") && t.contains("other"))
    std::cout << ": TCP " << t["tcp"]["entries"] << " of " << t["tcp"]["capacity"]
              << ", other protocols " << t["other"]["entries"] << " of " << t["other"]["capacity"];
  if (const auto& sw = r["conntrack_sweep"]; sw.is_object()) {
    const auto& w = sw["last_walk"];
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.3f", w["seconds"].get<double>());
    std::cout << "; swept every " << sw["interval_seconds"].get<double>() << " s, last walk "
              << w["entries"] << " entries, " << w["removed"] << " removed, in " << seconds << " s";
  }
  std::cout << "\n";
  const auto& fl = r["flows"];
  const auto& h = fl["history"];
  std::cout << "flows: " << fl["in_memory"] << " in memory (of " << fl["memory_capacity"]
            << "), history "
            << (h.contains("error")        ? "FAILING: " + str(h["error"])
                : h["enabled"].get<bool>() ? str(h["path"]) + " (" + str(h["written"]) + " written)"
                                           : std::string("off"))
            << "\n";
  std::cout << "events lost: " << r["events_lost"]["ring_full"] << " (ring full), "
            << r["events_lost"]["rate_limited"] << " (drop events over the per-source rate), "
            << h["lost"] << " (history behind or failing)\n";
  if (r.contains("proxy") && r["proxy"]["wanted"].get<bool>()) {
    const auto& p = r["proxy"];
    std::cout << "L7 proxy: "
              << (p["running"].get<bool>() ? "running (pid " + str(p["pid"]) + "), " +
                                                 str(p["active_connections"]) + " connections"
                                           : std::string("NOT RUNNING: its flows are dropped"))
              << ", started " << p["starts"] << " time(s)"
              << (p.contains("last_exit") ? "; the last one " + str(p["last_exit"]) : "") << "\n";
  }
  if (r.contains("kubernetes") && r["kubernetes"]["enabled"].get<bool>())
    render_kubernetes(r["kubernetes"]);
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
}

void render_version(const json& r, const json&) {
  std::cout << "sluicectl " << SLUICE_VERSION << "\nsluiced " << str(r["version"]) << "\n";
  for (const auto& [object, sha] : r["bpf_objects_sha256"].items())
    std::cout << "  " << object << ".bpf.o sha256 " << str(sha) << "\n";
}

void render_apply(const json& r, const json&) {
  std::cout << "applied\n";
  print_changes(r["changes"]);
  if (r.contains("confirm_within_seconds"))
    std::cout << "confirm within " << r["confirm_within_seconds"]
              << " s with `sluicectl confirm`, or the previous ruleset comes back\n";
}

void render_confirm(const json&, const json&) { std::cout << "confirmed\n"; }
void render_rollback(const json&, const json&) { std::cout << "rolled back\n"; }
void render_diff(const json& r, const json&) { print_changes(r["changes"]); }

void render_rules(const json& r, const json&) {
  std::vector<std::vector<std::string>> rows = {
      {"#", "CHAIN", "NAME", "FROM", "TO", "MATCH", "ACTION", "PACKETS", "BYTES", "WHERE"}};
  for (const auto& x : r["rules"]) {
    // A NetworkPolicy's rule has no line: it comes from the API server.
    auto where =
        x.value("source", "config") == "kubernetes" ? "kubernetes" : "line " + str(x["line"]);
    rows.push_back({str(x["index"]), str(x["chain"]), str(x["name"]), str(x["from"]), str(x["to"]),
                    str(x["match"]), action_text(x), str(x["packets"]), str(x["bytes"]), where});
  }
  for (const auto& d : r["defaults"])
    rows.push_back({"-", str(d["chain"]), "(default)", "", "", "", action_text(d),
                    str(d["packets"]), str(d["bytes"]), ""});
  table(rows);
}

void render_conntrack(const json& r, const json&) {
  std::vector<std::vector<std::string>> rows = {
      {"PROTO", "SOURCE", "DESTINATION", "NAT", "STATE", "PACKETS", "BYTES", "RULE", "AGE"}};
  for (const auto& e : r["entries"]) {
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
    auto named = [&](const std::string& text, const char* key) {
      return e.contains(key) ? text + " " + str(e[key]) : text;
    };
    rows.push_back({what, named(end(e["src"], e["sport"]), "src_workload"),
                    named(end(e["dst"], e["dport"]), "dst_workload"), conntrack_nat(e["nat"]),
                    str(e["state"]), str(e["packets"][0]) + "/" + str(e["packets"][1]),
                    str(e["bytes"][0]) + "/" + str(e["bytes"][1]), str(e["rule"]),
                    str(e["age_seconds"]) + "s"});
  }
  table(rows);
}

void render_counters(const json& r, const json&) {
  counter_table("DROP REASON", r["drops"], "reason");
  std::cout << "\n";
  counter_table("LET THROUGH BY AUDIT MODE", r["audited"], "would", "would ");
  std::cout << "\n";
  counter_table("NAT", r["nat"], "what");
  std::cout << "\n";
  counter_table("FAST PATH", r["fast_path"], "what");
}

void render_interfaces(const json& r, const json&) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "ZONE", "ATTACHED", "XDP", "RX PACKETS", "RX DROPPED", "TX PACKETS", "TX DROPPED"}};
  for (const auto& i : r["interfaces"])
    rows.push_back({str(i["name"]), str(i["zone"]).empty() ? "-" : str(i["zone"]),
                    i["attached"].get<bool>() ? "yes" : "no",
                    str(i["xdp"]).empty() ? "-" : str(i["xdp"]), str(i["rx_packets"]),
                    str(i["rx_dropped"]), str(i["tx_packets"]), str(i["tx_dropped"])});
  table(rows);
}

void render_endpoints(const json& r, const json&) {
  if (r["endpoints"].empty()) {
    std::cout << "no containers wired (sluice-cni, docs/cni.md)\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"NETWORK", "NAME", "CONTAINER", "IFNAME",
                                                 "ADDRESSES", "LABELS", "IDENTITY", "HOST END",
                                                 "ATTACHED", "PACKETS FROM", "TO"}};
  for (const auto& e : r["endpoints"]) {
    std::string addrs, labels;
    for (const auto& a : e["addresses"]) addrs += (addrs.empty() ? "" : " ") + str(a);
    const json label_set = e.value("labels", json::object());  // items() needs it to live
    for (const auto& [k, v] : label_set.items())
      labels += (labels.empty() ? "" : ",") + k + "=" + str(v);
    rows.push_back({str(e["network"]), str(e.value("name", json(""))),
                    str(e["container_id"]).substr(0, 12), str(e["ifname"]), addrs,
                    labels.empty() ? "-" : labels, str(e.value("identity", json(0))),
                    str(e["host_end"]), e["attached"].get<bool>() ? "yes" : "no",
                    str(e["packets_from"]), str(e["packets_to"])});
  }
  table(rows);
}

void render_cni_install(const json& r, const json&) {
  std::cout << "plugin:   " << str(r["plugin"]) << "\nconflist: " << str(r["conflist"]) << "\n";
  if (r["written"].empty()) std::cout << "both were current; nothing written\n";
  for (const auto& f : r["written"]) std::cout << "wrote " << str(f) << "\n";
  for (const auto& w : r["warnings"]) std::cout << "warning: " << str(w) << "\n";
}

void render_history(const json& r, const json&) {
  if (r.contains("version")) {
    const auto& v = r["version"];
    std::cout << "# version " << v["id"] << ", " << local_time(v["time_ms"]) << " by "
              << str(v["author"]) << "\n";
    std::istringstream diff(str(v["diff"]));
    for (std::string line; std::getline(diff, line);) std::cout << "#   " << line << "\n";
    std::cout << str(v["text"]);
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"VERSION", "WHEN", "BY", "CHANGES"}};
  for (const auto& v : r["versions"]) {
    std::string diff = str(v["diff"]);
    auto lines = std::count(diff.begin(), diff.end(), '\n');
    rows.push_back({str(v["id"]), local_time(v["time_ms"]), str(v["author"]),
                    lines ? std::to_string(lines) + " change(s)" : "none"});
  }
  table(rows);
}

void render_audit(const json& r, const json&) {
  std::vector<std::vector<std::string>> rows = {{"WHEN", "WHO", "WHAT", "DETAIL"}};
  for (const auto& e : r["entries"])
    rows.push_back({local_time(e["time_ms"]), str(e["who"]), str(e["what"]), str(e["detail"])});
  table(rows);
}

void render_account_list(const json& r, const json& request) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "CREATED"}};
  for (const auto& u : r[request["command"].get<std::string>()])
    rows.push_back({str(u["name"]), local_time(u["created_ms"])});
  table(rows);
}

void render_account_change(const json& r, const json& request) {
  std::string command = request["command"];  // user_add, token_remove, ...
  auto split = command.find('_');
  std::string kind = command.substr(0, split), verb = command.substr(split + 1);
  std::string name = request["name"];
  if (command == "token_add") {
    std::cout << str(r["token"]) << "\n";
    std::cerr << "read-only token '" << name
              << "': shown only now; send it as 'Authorization: Bearer TOKEN'\n";
    return;
  }
  std::cout << kind << " " << name << (verb == "add" ? " added" : " removed") << "\n";
}

}  // namespace sluice::cli
