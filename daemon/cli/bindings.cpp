#include "cli/bindings.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/render.h"
#include "cli/runners.h"

namespace sluice::cli {
namespace {

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

std::optional<std::uint64_t> parse_number(const std::string& s) {
  try {
    std::size_t used = 0;
    auto v = std::stoull(s, &used);
    if (used == s.size()) return v;
  } catch (const std::logic_error&) {
  }
  return std::nullopt;
}

std::string parse_apply(const std::vector<std::string>& a, json& request) {
  if (a.empty()) return "";
  if (a.size() != 2 || a[0] != "--confirm-within")
    return "apply takes only --confirm-within DURATION";
  auto secs = parse_duration(a[1]);
  if (!secs) return "'" + a[1] + "' is not a duration (e.g. 90s, 5m)";
  request["confirm_within_seconds"] = *secs;
  return "";
}

std::string parse_diff(const std::vector<std::string>& a, json& request) {
  if (a.size() != 1) return "diff expects exactly one FILE";
  request["path"] = std::filesystem::absolute(a[0]).string();
  return "";
}

std::string parse_cni_install(const std::vector<std::string>& a, json& request) {
  std::size_t i = 0;
  while (i < a.size()) {
    if (a[i] == "--k3s") {  // a flag: the directories k3s's containerd uses
      request["k3s"] = true;
      ++i;
      continue;
    }
    static const std::pair<const char*, const char*> kFlags[] = {
        {"--conf-dir", "conf_dir"}, {"--bin-dir", "bin_dir"}, {"--network", "network"}};
    const char* field = nullptr;
    for (const auto& [flag, name] : kFlags)
      if (a[i] == flag) field = name;
    if (!field) return "cni install: unexpected argument '" + a[i] + "'";
    if (i + 1 == a.size()) return "cni install: " + a[i] + " needs a value";
    // Directories as this shell sees them: sluiced resolves nothing.
    request[field] =
        std::string(field) == "network" ? a[i + 1] : std::filesystem::absolute(a[i + 1]).string();
    i += 2;
  }
  return "";
}

std::string parse_conntrack(const std::vector<std::string>& a, json& request) {
  if (a.empty()) return "";
  if (a.size() != 2 || a[0] != "--filter") return "conntrack takes only --filter ADDRESS";
  request["filter"] = a[1];
  return "";
}

std::string parse_history(const std::vector<std::string>& a, json& request) {
  if (a.empty()) return "";
  auto id = a.size() == 1 ? parse_number(a[0]) : std::nullopt;
  if (!id) return "history takes at most a version number";
  request["id"] = *id;
  return "";
}

std::string parse_audit(const std::vector<std::string>& a, json& request) {
  if (a.empty()) return "";
  if (a.size() != 2 || a[0] != "--limit") return "audit takes only --limit N";
  auto n = parse_number(a[1]);
  if (!n) return "audit --limit takes a number";
  request["limit"] = *n;
  return "";
}

}  // namespace

std::string parse_name(const std::vector<std::string>& a, json& request) {
  if (a.size() != 1) return request["command"].get<std::string>() + " takes one NAME";
  request["name"] = a[0];
  return "";
}

namespace {

const Binding kBindings[] = {
    {"status", nullptr, render_status},
    {"version", nullptr, render_version},
    {"validate", nullptr, nullptr, run_validate},
    {"apply", parse_apply, render_apply},
    {"confirm", nullptr, render_confirm},
    {"rollback", nullptr, render_rollback},
    {"diff", parse_diff, render_diff},
    {"rules", nullptr, render_rules},
    {"conntrack", parse_conntrack, render_conntrack},
    {"counters", nullptr, render_counters},
    {"interfaces", nullptr, render_interfaces},
    {"endpoints", nullptr, render_endpoints},
    {"cni_install", parse_cni_install, render_cni_install},
    {"flows", nullptr, nullptr, run_flows},
    {"config_history", parse_history, render_history},
    {"audit", parse_audit, render_audit},
    {"user_add", parse_name, render_account_change, run_user_add},
    {"user_remove", parse_name, render_account_change},
    {"users", nullptr, render_account_list},
    {"token_add", parse_name, render_account_change},
    {"token_remove", parse_name, render_account_change},
    {"tokens", nullptr, render_account_list},
};

void flatten(const json& v, const std::string& prefix) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [key, value] : v.items())
      flatten(value, prefix.empty() ? key : prefix + "." + key);
    return;
  }
  std::cout << prefix << ": " << str(v) << "\n";
}

}  // namespace

const Binding* binding_for(std::string_view command) {
  for (const auto& b : kBindings)
    if (b.command == command) return &b;
  return nullptr;
}

void render_generic(const json& answer) {
  for (const auto& [key, value] : answer.items())
    if (key != "ok") flatten(value, key);
}

void print_refusal(const std::string& command, const json& answer) {
  std::cerr << "sluicectl " << command << ": " << answer.value("error", "failed") << "\n";
  for (const auto& d : answer.value("diagnostics", json::array()))
    std::cerr << str(d["text"]) << "\n";
}

}  // namespace sluice::cli
