// The CNI plugin's reading of its invocation (daemon/cni/invocation.cpp):
// every variable and configuration field the spec requires, and the error
// code and message for each way it can be wrong.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cni/invocation.h"
#include "cni/versions.h"

namespace sluice::cni {
namespace {

struct Env {
  std::map<std::string, std::string> vars = {{"CNI_COMMAND", "ADD"},
                                             {"CNI_CONTAINERID", "c0ffee"},
                                             {"CNI_NETNS", "/proc/self/ns/net"},
                                             {"CNI_IFNAME", "eth0"}};
  std::function<const char*(const char*)> getter() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

const std::string kConfig = R"({"cniVersion": "1.1.0", "name": "box", "type": "sluice-cni"})";

// The error read_invocation() gives, or code 0 when it accepts.
Error error_of(const Env& env, const std::string& stdin_text) {
  auto r = read_invocation(env.getter(), stdin_text);
  if (auto* e = std::get_if<InvocationError>(&r)) return e->error;
  return {};
}

TEST(CniInvocation, AValidAddIsRead) {
  Env env;
  env.vars["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAME=web-1";
  env.vars["CNI_PATH"] = "/opt/cni/bin:/usr/lib/cni";
  auto r = read_invocation(env.getter(), kConfig);
  ASSERT_TRUE(std::holds_alternative<Invocation>(r));
  const auto& inv = std::get<Invocation>(r);
  EXPECT_EQ(inv.command, Command::Add);
  EXPECT_EQ(inv.container_id, "c0ffee");
  EXPECT_EQ(inv.ifname, "eth0");
  EXPECT_EQ(inv.cni_version, "1.1.0");
  ASSERT_EQ(inv.args.size(), 2u);
  EXPECT_EQ(inv.args[1].first, "K8S_POD_NAME");
  EXPECT_EQ(inv.args[1].second, "web-1");
  EXPECT_EQ(inv.config["name"], "box");
}

TEST(CniInvocation, EnvironmentErrorsNameTheVariable) {
  struct Case {
    const char* var;
    const char* value;  // nullptr: unset
    const char* names;
  };
  for (auto c :
       {Case{"CNI_COMMAND", nullptr, "CNI_COMMAND"}, Case{"CNI_COMMAND", "ATTACH", "CNI_COMMAND"},
        Case{"CNI_CONTAINERID", nullptr, "CNI_CONTAINERID"},
        Case{"CNI_CONTAINERID", "-leading-dash", "CNI_CONTAINERID"},
        Case{"CNI_CONTAINERID", "has space", "CNI_CONTAINERID"},
        Case{"CNI_IFNAME", nullptr, "CNI_IFNAME"}, Case{"CNI_IFNAME", "", "CNI_IFNAME"},
        Case{"CNI_IFNAME", "sixteen-chars-xx", "CNI_IFNAME"},
        Case{"CNI_IFNAME", "eth/0", "CNI_IFNAME"}, Case{"CNI_IFNAME", "..", "CNI_IFNAME"},
        Case{"CNI_NETNS", nullptr, "CNI_NETNS"}, Case{"CNI_ARGS", "K8S_POD_NAME", "CNI_ARGS"},
        Case{"CNI_ARGS", "=x", "CNI_ARGS"}}) {
    Env env;
    if (c.value)
      env.vars[c.var] = c.value;
    else
      env.vars.erase(c.var);
    auto e = error_of(env, kConfig);
    EXPECT_EQ(e.code, kInvalidEnvironment) << c.var << "=" << (c.value ? c.value : "(unset)");
    EXPECT_NE(e.details.find(c.names), std::string::npos) << e.details;
  }
}

TEST(CniInvocation, DelToleratesAMissingOrEmptyNetns) {
  for (const char* netns : std::initializer_list<const char*>{"", nullptr}) {
    Env env;
    env.vars["CNI_COMMAND"] = "DEL";
    if (netns)
      env.vars["CNI_NETNS"] = netns;
    else
      env.vars.erase("CNI_NETNS");
    EXPECT_EQ(error_of(env, kConfig).code, 0);
  }
}

TEST(CniInvocation, ConfigurationErrors) {
  struct Case {
    std::string stdin_text;
    int code;
    const char* mentions;
  };
  for (const auto& c : std::vector<Case>{
           {"", kDecodingFailure, "empty"},
           {"{not json", kDecodingFailure, "JSON"},
           {"[1, 2]", kDecodingFailure, "JSON object"},
           {R"({"name": "box", "type": "sluice-cni"})", kInvalidNetworkConfig, "cniVersion"},
           {R"({"cniVersion": 1, "name": "box", "type": "t"})", kInvalidNetworkConfig,
            "cniVersion"},
           {R"({"cniVersion": "one", "name": "box", "type": "t"})", kInvalidNetworkConfig,
            "not a version"},
           {R"({"cniVersion": "0.3.1", "name": "box", "type": "t"})", kIncompatibleVersion,
            "0.3.1"},
           {R"({"cniVersion": "2.0.0", "name": "box", "type": "t"})", kIncompatibleVersion,
            "1.1.0"},
           {R"({"cniVersion": "1.0.0", "type": "t"})", kInvalidNetworkConfig, "\"name\""},
           {R"({"cniVersion": "1.0.0", "name": "", "type": "t"})", kInvalidNetworkConfig,
            "\"name\""},
           {R"({"cniVersion": "1.0.0", "name": "box"})", kInvalidNetworkConfig, "\"type\""},
           {std::string(kMaxConfigBytes + 1, ' '), kDecodingFailure, "larger than"},
       }) {
    auto e = error_of(Env{}, c.stdin_text);
    EXPECT_EQ(e.code, c.code) << c.stdin_text.substr(0, 60);
    EXPECT_NE((e.msg + " " + e.details).find(c.mentions), std::string::npos)
        << e.msg << ": " << e.details;
  }
}

TEST(CniInvocation, StatusAndGcNeedAVersion110Configuration) {
  for (const char* command : {"STATUS", "GC"}) {
    Env env;
    env.vars = {{"CNI_COMMAND", command}};  // no container variables needed
    EXPECT_EQ(error_of(env, kConfig).code, 0) << command;
    auto e = error_of(env, R"({"cniVersion": "1.0.0", "name": "box", "type": "sluice-cni"})");
    EXPECT_EQ(e.code, kIncompatibleVersion) << command;
    EXPECT_NE(e.details.find("1.1.0"), std::string::npos) << e.details;
  }
}

TEST(CniInvocation, VersionAnswersInTheVersionAskedAbout) {
  Env env;
  env.vars = {{"CNI_COMMAND", "VERSION"}};
  auto newest = read_invocation(env.getter(), "");
  ASSERT_TRUE(std::holds_alternative<Invocation>(newest));
  EXPECT_EQ(std::get<Invocation>(newest).cni_version, kNewestVersion);
  auto older = read_invocation(env.getter(), R"({"cniVersion": "0.4.0"})");
  ASSERT_TRUE(std::holds_alternative<Invocation>(older));
  EXPECT_EQ(std::get<Invocation>(older).cni_version, "0.4.0");
  EXPECT_EQ(error_of(env, "{oops").code, kDecodingFailure);
}

TEST(CniVersions, ParseAndSupport) {
  EXPECT_EQ(parse_version("1.1.0"), (Version{1, 1, 0}));
  EXPECT_FALSE(parse_version("1.1"));
  EXPECT_FALSE(parse_version("1.1.0-rc1"));
  EXPECT_FALSE(parse_version("v1.0.0"));
  EXPECT_TRUE(is_supported("0.4.0"));
  EXPECT_TRUE(is_supported("1.0.0"));
  EXPECT_FALSE(is_supported("0.3.1"));
}

}  // namespace
}  // namespace sluice::cni
