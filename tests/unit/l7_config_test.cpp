// L7 rules and [proxy] in the TOML: what a good config becomes, and every
// error a bad one gets (file:line:col, key, message).
#include <gtest/gtest.h>

#include "config/describe.h"
#include "config/diff.h"
#include "config/parser.h"
#include "policy/compiler.h"
#include "policy/proxy_slots.h"

namespace {

using namespace sluice::config;

std::vector<std::string> diagnostics_of(const std::string& toml) {
  auto result = parse_string(toml, "t.toml", SLUICE_TEST_DATA_DIR);
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics) out.push_back(d.to_string());
  EXPECT_EQ(result.config.has_value(), out.empty());
  return out;
}

// A rule of the forward chain accepting TCP 80, with extra lines.
std::string rule_with(const std::string& extra, const std::string& head = "") {
  return head + "[[rule]]\nname = \"api\"\nchain = \"forward\"\nproto = \"tcp\"\nport = 80\n" +
         "action = \"accept\"\n" + extra;
}

TEST(L7Config, FlagshipRuleParses) {
  auto r = parse_string(
      rule_with("http = [{ method = \"GET\", path = \"/api/v1/.*\", host = \"api.internal\", "
                "headers = { \"X-Team\" = \"blue|green\" } }, { method = \"POST\", path = "
                "\"/upload\" }]\nl7 = { websocket = true, idle_timeout = \"10m\", "
                "upstream_timeout = \"2h\", max_body_bytes = 1073741824 }\n"),
      "t.toml", ".");
  ASSERT_TRUE(r.config) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
  const auto& rule = r.config->rules.at(0);
  ASSERT_TRUE(rule.l7);
  ASSERT_EQ(rule.l7->http.size(), 2u);
  EXPECT_EQ(rule.l7->http[0].method, "GET");
  EXPECT_EQ(rule.l7->http[0].path, "/api/v1/.*");
  EXPECT_EQ(rule.l7->http[0].host, "api.internal");
  // Header names are kept in lowercase: HTTP compares them without case.
  EXPECT_EQ(rule.l7->http[0].headers.at("x-team"), "blue|green");
  EXPECT_EQ(rule.l7->http[1].method, "POST");
  EXPECT_TRUE(rule.l7->websocket);
  EXPECT_FALSE(rule.l7->http2_opaque);
  EXPECT_EQ(rule.l7->idle_timeout_seconds, 600u);
  EXPECT_EQ(rule.l7->upstream_timeout_seconds, 7200u);
  EXPECT_EQ(rule.l7->max_body_bytes, 1073741824u);
  EXPECT_EQ(describe_rule(rule),
            "forward: any -> any tcp 80 accept [http GET /api/v1/.* host api.internal x-team: "
            "blue|green | POST /upload; websocket; idle 600 s; upstream 7200 s; body <= "
            "1073741824 B]");
}

TEST(L7Config, TlsServerNamesOneOrList) {
  auto one = parse_string(rule_with("tls_sni = \"*.example.com\"\n"), "t.toml", ".");
  ASSERT_TRUE(one.config);
  EXPECT_EQ(one.config->rules[0].l7->tls_sni, std::vector<std::string>{"*.example.com"});
  EXPECT_TRUE(one.config->rules[0].l7->http.empty());
  auto list = parse_string(rule_with("tls_sni = [\"a.example\", \"b?.example\"]\n"), "t.toml", ".");
  ASSERT_TRUE(list.config);
  EXPECT_EQ(list.config->rules[0].l7->tls_sni,
            (std::vector<std::string>{"a.example", "b?.example"}));
}

TEST(L7Config, RulesWithoutL7HaveNone) {
  auto r = parse_string(rule_with(""), "t.toml", ".");
  ASSERT_TRUE(r.config);
  EXPECT_FALSE(r.config->rules[0].l7);
}

TEST(L7Config, ProxyDefaultsAndOverrides) {
  auto d = parse_string("", "t.toml", ".");
  ASSERT_TRUE(d.config);
  EXPECT_EQ(d.config->proxy, ProxySettings{});
  EXPECT_EQ(d.config->proxy.user, "sluice-proxy");
  auto r = parse_string(
      "[proxy]\nuser = \"l7\"\nmax_request_line = 4096\nmax_header_bytes = 16384\n"
      "max_headers = 50\nmax_body_bytes = 1048576\nheader_timeout = \"5s\"\n"
      "idle_timeout = \"2m\"\nupstream_connect_timeout = \"3s\"\nupstream_timeout = \"1h\"\n"
      "max_connections = 2000\nmax_connections_per_source = 20\nworkers = 3\n",
      "t.toml", ".");
  ASSERT_TRUE(r.config) << r.diagnostics[0].to_string();
  const auto& p = r.config->proxy;
  EXPECT_EQ(p.user, "l7");
  EXPECT_EQ(p.max_request_line, 4096u);
  EXPECT_EQ(p.max_header_bytes, 16384u);
  EXPECT_EQ(p.max_headers, 50u);
  EXPECT_EQ(p.max_body_bytes, 1048576u);
  EXPECT_EQ(p.header_timeout_seconds, 5u);
  EXPECT_EQ(p.idle_timeout_seconds, 120u);
  EXPECT_EQ(p.upstream_connect_timeout_seconds, 3u);
  EXPECT_EQ(p.upstream_timeout_seconds, 3600u);
  EXPECT_EQ(p.max_connections, 2000u);
  EXPECT_EQ(p.max_connections_per_source, 20u);
  EXPECT_EQ(p.workers, 3u);
  EXPECT_EQ(ProxySettings{}.workers, 0u);  // one per CPU
}

TEST(L7Config, DiffShowsL7AndProxyChanges) {
  auto a = parse_string(rule_with("http = [{ method = \"GET\" }]\n"), "t.toml", ".");
  auto b = parse_string(
      rule_with("http = [{ method = \"HEAD\" }]\n", "[proxy]\nmax_headers = 64\n"), "t.toml", ".");
  ASSERT_TRUE(a.config && b.config);
  auto changes = diff(*a.config, *b.config);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].what, "rule 'api'");
  EXPECT_NE(changes[0].detail.find("[http GET] -> forward"), std::string::npos)
      << changes[0].detail;
  EXPECT_EQ(changes[1].what, "proxy");
}

struct BadL7 {
  const char* name;
  std::string toml;
  std::vector<std::string> expected;
};

const BadL7 kBad[] = {
    {"bad regex, method, host and header",
     rule_with("http = [{ method = \"G ET\", path = \"/api/(v1\", host = \"API.internal\", "
               "headers = { \"X Team\" = \"a\", \"Y\" = \"(\" } }]\n"),
     {"t.toml:7:20: rule 'api'.http[0].method: 'G ET' is not an HTTP method (a token such as "
      "\"GET\")",
      "t.toml:7:35: rule 'api'.http[0].path: not a valid RE2 pattern: missing ): /api/(v1",
      "t.toml:7:54: rule 'api'.http[0].host: host name glob must be lowercase (names are "
      "compared without regard to case)",
      "t.toml:7:82: rule 'api'.http[0].headers.X Team: 'X Team' is not a header name",
      "t.toml:7:104: rule 'api'.http[0].headers.Y: not a valid RE2 pattern: missing ): ("}},
    {"unknown key in a request match, and an empty list",
     rule_with("http = [{ verb = \"GET\" }]\n") + "[[rule]]\nname = \"b\"\nchain = \"input\"\n" +
         "proto = \"tcp\"\naction = \"accept\"\nhttp = []\n",
     {"t.toml:7:11: rule 'api'.http[0].verb: unknown key; expected one of: method, path, host, "
      "headers",
      "t.toml:13:8: rule 'b'.http: must be a non-empty array of request matches, e.g. [{ method "
      "= \"GET\", path = \"/api/.*\" }]"}},
    {"L7 on udp, on a drop rule, in the output chain",
     "[[rule]]\nname = \"u\"\nchain = \"input\"\nproto = \"udp\"\naction = \"accept\"\n"
     "tls_sni = \"a.example\"\n[[rule]]\nname = \"d\"\nchain = \"forward\"\nproto = \"tcp\"\n"
     "action = \"drop\"\nhttp = [{ method = \"GET\" }]\n[[rule]]\nname = \"o\"\n"
     "chain = \"output\"\nproto = \"tcp\"\naction = \"accept\"\nhttp = [{ method = \"GET\" }]\n",
     {"t.toml:6:11: rule 'u'.tls_sni: HTTP and TLS rules need proto = \"tcp\"",
      "t.toml:12:8: rule 'd'.http: only accept rules carry http/tls_sni (they say which requests "
      "the accepted flows may make); a drop or reject rule needs no proxy",
      "t.toml:18:8: rule 'o'.http: the proxy serves the input and forward chains; traffic this "
      "host starts is not steered"}},
    {"l7 options alone, websocket without http, bad values",
     rule_with("l7 = { websocket = true }\n") + "[[rule]]\nname = \"t\"\nchain = \"input\"\n" +
         "proto = \"tcp\"\naction = \"accept\"\ntls_sni = [\"a.example\", 3]\n" +
         "l7 = { websocket = \"yes\", http2 = \"maybe\", idle_timeout = \"soon\", " +
         "max_body_bytes = 0, retries = 2 }\n",
     {"t.toml:7:6: rule 'api'.l7: l7 options need http = [...] or tls_sni = [...] beside them",
      "t.toml:13:25: rule 't'.tls_sni: must be a server name glob",
      "t.toml:14:87: rule 't'.l7.retries: unknown key; expected one of: websocket, http2, "
      "idle_timeout, upstream_timeout, max_body_bytes",
      "t.toml:14:20: rule 't'.l7.websocket: must be true or false",
      "t.toml:14:35: rule 't'.l7.http2: 'maybe' is not an HTTP/2 setting; use \"refuse\" or "
      "\"opaque\"",
      "t.toml:14:59: rule 't'.l7.idle_timeout: must be a duration like \"30s\", \"10m\" or "
      "\"2h\"",
      "t.toml:14:84: rule 't'.l7.max_body_bytes: must be a whole number from 1 to "
      "1099511627776"}},
    {"proxy: root user, limits out of range, line longer than the head",
     "[proxy]\nuser = \"root\"\nmax_headers = 2\nmax_request_line = 65536\n"
     "header_timeout = 10\nthreads = 4\nworkers = 1000\n",
     {"t.toml:6:1: proxy.threads: unknown key; expected one of: user, max_request_line, "
      "max_header_bytes, max_headers, max_body_bytes, header_timeout, idle_timeout, "
      "upstream_connect_timeout, upstream_timeout, max_connections, max_connections_per_source, "
      "workers",
      "t.toml:2:8: proxy.user: must be a user name (letters, digits, '-', '_'; not root): the "
      "proxy parses untrusted input and runs without privileges",
      "t.toml:3:15: proxy.max_headers: must be a whole number from 8 to 10000",
      "t.toml:7:11: proxy.workers: must be a whole number from 0 to 256",
      "t.toml:5:18: proxy.header_timeout: must be a duration like \"30s\", \"10m\" or \"2h\"",
      "t.toml:1:1: proxy: max_request_line (65536) is larger than max_header_bytes (32768), "
      "which includes the request line"}},
};

class L7ConfigErrors : public ::testing::TestWithParam<BadL7> {};

TEST_P(L7ConfigErrors, ReportsExactLocationAndMessage) {
  EXPECT_EQ(diagnostics_of(GetParam().toml), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, L7ConfigErrors, ::testing::ValuesIn(kBad), [](const auto& info) {
  std::string n = info.param.name;
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
});

}  // namespace

namespace {

using sluice::policy::assign_proxy_slots;

sluice::config::Config three_l7_rules(const std::vector<std::string>& names) {
  std::string toml;
  for (const auto& n : names)
    toml += "[[rule]]\nname = \"" + n +
            "\"\nchain = \"input\"\nproto = \"tcp\"\naction = \"accept\"\n" +
            (n.rfind("plain", 0) == 0 ? "" : "http = [{ method = \"GET\" }]\n");
  auto r = sluice::config::parse_string(toml, "t.toml", ".");
  EXPECT_TRUE(r.config);
  return *r.config;
}

TEST(ProxySlots, RulesKeepTheirSlotsAndNewOnesTakeFreeOnes) {
  auto first = three_l7_rules({"a", "plain", "b"});
  auto slots = assign_proxy_slots(first, {});
  EXPECT_EQ(slots, (sluice::policy::ProxySlots{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(first.rules[1].proxy_slot, 0u);
  EXPECT_EQ(first.rules[2].proxy_slot, 2u);
  // b moves first, a goes, c comes: b keeps 2, c may not take a's 1
  // while the live ruleset still uses it.
  auto second = three_l7_rules({"b", "c"});
  auto next = assign_proxy_slots(second, slots);
  EXPECT_EQ(next, (sluice::policy::ProxySlots{{"b", 2}, {"c", 3}}));
  // Once a's ruleset is gone, its slot is free again.
  auto third = three_l7_rules({"b", "c", "d"});
  EXPECT_EQ(assign_proxy_slots(third, next),
            (sluice::policy::ProxySlots{{"b", 2}, {"c", 3}, {"d", 1}}));
}

TEST(ProxySlots, TooManyRulesIsACapacityError) {
  std::vector<std::string> names;
  for (unsigned i = 0; i < SLUICE_MAX_PROXY_SLOTS; ++i) names.push_back("r" + std::to_string(i));
  auto cfg = three_l7_rules(names);
  EXPECT_THROW(assign_proxy_slots(cfg, {}), sluice::policy::CapacityError);
  names.pop_back();
  auto fits = three_l7_rules(names);
  EXPECT_EQ(assign_proxy_slots(fits, {}).size(), SLUICE_MAX_PROXY_SLOTS - 1);
}

}  // namespace
