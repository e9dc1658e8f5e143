#include <gtest/gtest.h>

#include "config/diff.h"
#include "config/parser.h"

namespace {

using namespace sluice::config;

Config parse(const std::string& toml) {
  auto r = parse_string(toml, "t.toml");
  EXPECT_TRUE(r.config) << format(r.diagnostics);
  return *r.config;
}

std::vector<std::string> lines(const std::vector<Change>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes)
    out.push_back(std::string(to_string(c.kind)) + " " + c.what + ": " + c.detail);
  return out;
}

const char* kBase = R"(
[chains]
input = "drop"
[[rule]]
name = "ssh"
chain = "input"
from = "10.0.0.0/8"
proto = "tcp"
port = 22
action = "accept"
[[rule]]
name = "web"
chain = "input"
proto = "tcp"
port = [80, 443]
action = "accept"
)";

TEST(ConfigDiff, ReportsFlowAndApiSettings) {
  auto a = parse(std::string(kBase));
  auto b = parse(std::string(kBase) +
                 "[flows]\nevents = \"denied\"\nhistory_max_age = \"1h\"\n[api]\nlisten = \"\"\n");
  EXPECT_EQ(lines(diff(a, b)),
            (std::vector<std::string>{
                "changed flows: events all, memory 10000, history on, max age 604800 s, max 256 "
                "MiB -> events denied, "
                "memory 10000, history on, max age 3600 s, max 256 MiB",
                "changed api: listen 127.0.0.1:9090 -> listen off (takes effect at restart)"}));
}

TEST(ConfigDiff, IdenticalConfigsHaveNoChanges) {
  EXPECT_TRUE(diff(parse(kBase), parse(kBase)).empty());
}

TEST(ConfigDiff, ReportsRuleByRule) {
  const char* next = R"(
[chains]
input = "accept"
[[rule]]
name = "web"
chain = "input"
proto = "tcp"
port = [80, 443]
action = "accept"
[[rule]]
name = "ssh"
chain = "input"
from = "10.1.0.0/16"
proto = "tcp"
port = 22
action = "accept"
[[rule]]
name = "dns"
chain = "input"
proto = "udp"
port = 53
action = "drop"
)";
  EXPECT_EQ(lines(diff(parse(kBase), parse(next))),
            (std::vector<std::string>{
                "changed chain input: default drop -> accept",
                "moved rule 'web': position 2 -> 1",
                "changed rule 'ssh': input: 10.0.0.0/8 -> any tcp 22 accept -> input: 10.1.0.0/16 "
                "-> any tcp 22 accept",
                "added rule 'dns': input: any -> any udp 53 drop (position 3)",
            }));
  EXPECT_EQ(lines(diff(parse(next), parse(kBase)))[1],
            "removed rule 'dns': input: any -> any udp 53 drop");
}

}  // namespace
