// The sluice-cni binary as a runtime calls it: CNI_* variables, the
// network configuration on stdin, the result or a CNI error object on
// stdout and the exit status. sluiced is not involved here except as
// unreachable (a socket path where none listens); wiring containers
// through a running sluiced is tests/integration's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cni/pending_deletions.h"
#include "cni/plugin.h"

extern char** environ;

namespace sluice::cni {
namespace {

struct Outcome {
  int status = -1;
  nlohmann::json out;
};

// Runs the plugin with exactly these variables and stdin.
Outcome call(const std::map<std::string, std::string>& vars, const std::string& stdin_text) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::vector<std::string> env_text;
  for (const auto& [k, v] : vars) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string binary = SLUICE_CNI_BINARY;
  char* argv[] = {binary.data(), nullptr};
  pid_t pid = -1;
  int spawned = posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  Outcome o;
  if (spawned == 0) {
    // The configuration fits the pipe's buffer only when small: write all
    // of it, then read (the plugin reads all of stdin before it answers).
    std::size_t sent = 0;
    while (sent < stdin_text.size()) {
      auto n = write(in[1], stdin_text.data() + sent, stdin_text.size() - sent);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
  }
  close(in[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  if (spawned != 0) return o;
  int status = 0;
  waitpid(pid, &status, 0);
  o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.out = nlohmann::json::parse(text, nullptr, false);
  return o;
}

const std::string kNowhere = "/nonexistent/sluice.sock";

std::string config(const std::string& version, const std::string& socket = kNowhere) {
  return nlohmann::json{
      {"cniVersion", version}, {"name", "box"}, {"type", "sluice-cni"}, {"socket", socket}}
      .dump();
}

std::map<std::string, std::string> add_vars(const std::string& command = "ADD") {
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", "0123456789abcdef"},
          {"CNI_NETNS", "/proc/self/ns/net"},
          {"CNI_IFNAME", "eth0"}};
}

TEST(CniPlugin, VersionListsTheSupportedVersionsInTheVersionAsked) {
  for (const char* asked : {"0.4.0", "1.0.0", "1.1.0"}) {
    auto o = call({{"CNI_COMMAND", "VERSION"}}, nlohmann::json{{"cniVersion", asked}}.dump());
    ASSERT_EQ(o.status, 0) << asked;
    EXPECT_EQ(o.out["cniVersion"], asked);
    EXPECT_EQ(o.out["supportedVersions"], nlohmann::json({"0.4.0", "1.0.0", "1.1.0"}));
  }
  auto bare = call({{"CNI_COMMAND", "VERSION"}}, "");
  ASSERT_EQ(bare.status, 0);
  EXPECT_EQ(bare.out["cniVersion"], "1.1.0");
}

TEST(CniPlugin, ErrorsAreObjectsOnStdoutWithANonZeroExit) {
  auto o = call({}, config("1.0.0"));
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(o.out["code"], kInvalidEnvironment);
  EXPECT_NE(o.out["details"].get<std::string>().find("CNI_COMMAND"), std::string::npos);

  o = call(add_vars(), "{\"cniVersion\": ");
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(o.out["code"], kDecodingFailure);

  o = call(add_vars(), config("0.2.0"));
  EXPECT_EQ(o.out["code"], kIncompatibleVersion);

  // Reported in the version of the request once it could be read.
  auto vars = add_vars();
  vars["CNI_IFNAME"] = "a-very-long-ifname";
  o = call(vars, config("0.4.0"));
  EXPECT_EQ(o.out["code"], kInvalidEnvironment);
  EXPECT_EQ(o.out["cniVersion"], "0.4.0");
}

TEST(CniPlugin, ANetnsThatDoesNotExistIsAnUnknownContainer) {
  auto vars = add_vars();
  vars["CNI_NETNS"] = "/run/netns/sluice-test-no-such-netns";
  auto o = call(vars, config("1.1.0"));
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(o.out["code"], kUnknownContainer);
  EXPECT_NE(o.out["details"].get<std::string>().find("no-such-netns"), std::string::npos);
}

TEST(CniPlugin, WithoutSluicedAddIsRefusedAndStatusSaysNotAvailable) {
  auto add = call(add_vars(), config("1.1.0"));
  EXPECT_NE(add.status, 0);
  EXPECT_EQ(add.out["code"], kTryAgainLater);
  EXPECT_NE(add.out["details"].get<std::string>().find(kNowhere), std::string::npos)
      << add.out.dump();
  EXPECT_NE(add.out["details"].get<std::string>().find("never runs unprotected"),
            std::string::npos);

  auto status = call({{"CNI_COMMAND", "STATUS"}}, config("1.1.0"));
  EXPECT_NE(status.status, 0);
  EXPECT_EQ(status.out["code"], kNotAvailable);

  auto bad_socket = nlohmann::json::parse(config("1.1.0"));
  bad_socket["socket"] = 7;
  auto o = call(add_vars(), bad_socket.dump());
  EXPECT_EQ(o.out["code"], kInvalidNetworkConfig);
}

TEST(CniPlugin, ADelWithoutSluicedIsKeptForItAndSucceeds) {
  char tmpl[] = "/tmp/sluice-cni-pending-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto conf = nlohmann::json::parse(config("1.1.0"));
  conf["pending_dir"] = dir + "/pending";
  auto o = call(add_vars("DEL"), conf.dump());
  EXPECT_EQ(o.status, 0) << o.out.dump();
  auto kept = pending_deletions(dir + "/pending");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].network, "box");
  EXPECT_EQ(kept[0].container_id, "0123456789abcdef");
  EXPECT_EQ(kept[0].ifname, "eth0");
  // The same DEL again is the same record, not a second one.
  call(add_vars("DEL"), conf.dump());
  EXPECT_EQ(pending_deletions(dir + "/pending").size(), 1u);
  // Nowhere to keep it: the runtime must hear that it failed.
  conf["pending_dir"] = "/proc/sluice-cannot-be-here";
  o = call(add_vars("DEL"), conf.dump());
  EXPECT_NE(o.status, 0);
  EXPECT_EQ(o.out["code"], kTryAgainLater);
  std::filesystem::remove_all(dir);
}

TEST(CniPlugin, ResultsTakeTheShapeOfTheVersionAsked) {
  nlohmann::json result = {
      {"interfaces",
       {{{"name", "eth0"},
         {"mac", "02:00:00:00:00:01"},
         {"mtu", 1500},
         {"sandbox", "/run/netns/x"}}}},
      {"ips",
       {{{"address", "10.89.0.2/24"}, {"interface", 0}},
        {{"address", "fd00:89::2/64"}, {"interface", 0}}}},
      {"routes", {{{"dst", "0.0.0.0/0"}, {"gw", "169.254.1.1"}, {"mtu", 1500}}}}};
  auto v1 = result_for_version(result, "1.1.0");
  EXPECT_EQ(v1["cniVersion"], "1.1.0");
  EXPECT_EQ(v1["interfaces"][0]["mtu"], 1500);
  EXPECT_FALSE(v1["ips"][0].contains("version"));
  auto v04 = result_for_version(result, "0.4.0");
  EXPECT_EQ(v04["cniVersion"], "0.4.0");
  EXPECT_EQ(v04["ips"][0]["version"], "4");
  EXPECT_EQ(v04["ips"][1]["version"], "6");
  EXPECT_FALSE(v04["interfaces"][0].contains("mtu"));
  EXPECT_FALSE(v04["routes"][0].contains("mtu"));
}

}  // namespace
}  // namespace sluice::cni
