#include "commands/catalog.h"

#include <array>

namespace sluice::commands {
namespace {

using K = QueryParam::Kind;

constexpr QueryParam kLimit[] = {{"limit", K::Number}};
constexpr QueryParam kConntrack[] = {{"filter", K::String}, {"offset", K::Number}, {"limit", K::Number}};
constexpr QueryParam kFlows[] = {
    {"from", K::String, true},  {"to", K::String, true},    {"address", K::String, true},
    {"port", K::String, true},  {"verdict", K::String, true}, {"rule", K::String, true},
    {"since", K::String, true}, {"until", K::String, true}, {"after", K::Number},
    {"limit", K::Number},       {"newest", K::Boolean},
};

constexpr const char* kAccounts = "users and tokens are managed with sluicectl on the host";

// Order: as sluicectl's help lists them.
constexpr std::array kCatalog = {
    Command{"status", Access::Read, "what sluiced runs, where, and since when", "GET", "/api/v1/status", {}, {},
            "status", "", {}},
    Command{"version", Access::Read, "the daemon's version and the hashes of its BPF objects", "GET",
            "/api/v1/version", {}, {}, "version", "", {}},
    Command{"validate", Access::Read, "check a configuration without applying it (sluicectl: a FILE, offline)",
            "POST", "/api/v1/config/validate", {}, {}, "validate", "FILE [--list-dir DIR]", {}},
    Command{"apply", Access::Change,
            "apply the configuration file atomically; with a deadline (30s, 5m), roll back unless confirmed",
            "POST", "/api/v1/config/apply", {}, {}, "apply", "[--confirm-within DUR]", {}},
    Command{"confirm", Access::Change, "keep a ruleset applied with --confirm-within", "POST",
            "/api/v1/config/confirm", {}, {}, "confirm", "", {}},
    Command{"rollback", Access::Change, "go back to the ruleset before the last apply", "POST",
            "/api/v1/config/rollback", {}, {}, "rollback", "", {}},
    Command{"diff", Access::Read, "what applying FILE would change, rule by rule", "POST", "/api/v1/config/diff",
            {}, {}, "diff", "FILE", {}},
    Command{"config", Access::Read, "the live configuration's text", "GET", "/api/v1/config", {}, {}, {}, {},
            "the configuration file itself is on the host"},
    Command{"rules", Access::Read, "the rules in evaluation order, with hit counters", "GET", "/api/v1/rules", {},
            {}, "rules", "", {}},
    Command{"conntrack", Access::Read, "tracked flows", "GET", "/api/v1/conntrack", kConntrack, {}, "conntrack",
            "[--filter ADDRESS]", {}},
    Command{"counters", Access::Read, "dropped packets by reason; audit, NAT and fast path counters", "GET",
            "/api/v1/counters", {}, {}, "counters", "", {}},
    Command{"interfaces", Access::Read, "configured interfaces with their counters", "GET", "/api/v1/interfaces",
            {}, {}, "interfaces", "", {}},
    Command{"flows", Access::Read,
            "recent flow decisions, newest last; --follow keeps printing new ones. FILTERS: --from ADDR, --to "
            "ADDR, --address ADDR, --port N, --verdict allowed|dropped|rejected|audit|translated|closed, "
            "--rule NAME, --since T, --until T (T: 15m, 2h, 7d, or epoch seconds)",
            "GET", "/api/v1/flows", kFlows, {}, "flows", "[FILTERS] [--limit N] [--follow]", {}},
    Command{"config_history", Access::Read,
            "applied config versions (who, when, what changed); with ID, that version's text", "GET",
            "/api/v1/config/history[/{id}]", kLimit, {}, "history", "[ID]", {}},
    Command{"audit", Access::Read, "who changed what, newest first", "GET", "/api/v1/audit", kLimit, {}, "audit",
            "[--limit N]", {}},
    Command{"user_add", Access::Root, "add a web UI/API user (password read from stdin)", {}, {}, {}, kAccounts,
            "user add", "NAME", {}},
    Command{"user_remove", Access::Root, "remove a user", {}, {}, {}, kAccounts, "user remove", "NAME", {}},
    Command{"users", Access::Root, "the users", {}, {}, {}, kAccounts, "user list", "", {}},
    Command{"token_add", Access::Root, "a read-only API token for scripts (shown once)", {}, {}, {}, kAccounts,
            "token add", "NAME", {}},
    Command{"token_remove", Access::Root, "remove a token", {}, {}, {}, kAccounts, "token remove", "NAME", {}},
    Command{"tokens", Access::Root, "the tokens", {}, {}, {}, kAccounts, "token list", "", {}},
};

}  // namespace

std::span<const Command> catalog() { return kCatalog; }

const Command* find(std::string_view name) {
  for (const auto& c : kCatalog)
    if (c.name == name) return &c;
  return nullptr;
}


}  // namespace sluice::commands
