// The XDP blocklist never locks out a management source: the anti-lockout
// rule runs in tc, after the prefilter, so management sources are exempt.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "config/parser.h"
#include "policy/compiler.h"

namespace sluice::policy {
namespace {

std::vector<std::string> texts(const std::vector<config::Prefix>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.to_string());
  std::sort(out.begin(), out.end());
  return out;
}

CompiledPolicy compiled(const std::string& api) {
  auto r = config::parse_string(
      api +
          "[sets]\nblock = [\"10.0.0.0/8\", \"192.0.2.128/25\", \"2001:db8::/32\", "
          "\"198.51.100.0/24\"]\nadmins = [\"10.1.2.3\", \"192.0.2.0/24\", "
          "\"2001:db8:1::/48\"]\n[prefilter]\ndrop_from = \"set:block\"\n",
      "t.toml");
  EXPECT_TRUE(r.config) << config::format(r.diagnostics);
  return compile(*r.config);
}

TEST(Prefilter, ManagementSourcesInsideBlockedPrefixesAreExempt) {
  auto out = compiled("[api]\nmanagement = \"set:admins\"\n");
  EXPECT_EQ(texts(out.prefilter_exempt), (std::vector<std::string>{"10.1.2.3", "2001:db8:1::/48"}));
  // 192.0.2.128/25 lies wholly inside the admins' 192.0.2.0/24: left out.
  EXPECT_EQ(texts(out.prefilter),
            (std::vector<std::string>{"10.0.0.0/8", "198.51.100.0/24", "2001:db8::/32"}));
  EXPECT_EQ(out.prefilter_left_out, 1u);
}

TEST(Prefilter, WithoutAntiLockoutTheBlocklistIsAsWritten) {
  auto out = compiled("[api]\nmanagement = \"set:admins\"\nanti_lockout = false\n");
  EXPECT_TRUE(out.prefilter_exempt.empty());
  EXPECT_EQ(out.prefilter.size(), 4u);
  EXPECT_EQ(compiled("").prefilter.size(), 4u) << "no management sources at all";
}

TEST(Prefilter, ManagementFromAnywhereLeavesNothingToDropBeforePolicy) {
  auto out = compiled("[api]\nmanagement = \"any\"\n");
  EXPECT_TRUE(out.prefilter.empty());
  EXPECT_EQ(out.prefilter_left_out, 4u);
}

}  // namespace
}  // namespace sluice::policy
