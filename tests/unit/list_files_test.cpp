// Address lists named by config text that may come from a remote API
// caller: read only inside the allowed directories, only regular files of
// bounded size, and never quoted back in diagnostics.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/parser.h"
#include "config/set_file.h"

namespace {

namespace fs = std::filesystem;
using sluice::config::parse_string;

class ListFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sluice-lists-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(config_dir_ = root_ / "etc");
    fs::create_directories(private_dir_ = root_ / "private");
    fs::create_directories(lists_dir_ = root_ / "lists");
    write(private_dir_ / "shadow", "root:secret-hash-one:19000\ndaemon:secret-hash-two:19000\n");
    chmod((private_dir_ / "shadow").c_str(), 0600);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  // Every diagnostic of the config text, as the API would return them.
  std::string diagnostics(const std::string& toml, const std::vector<std::string>& list_dirs = {}) {
    auto r =
        parse_string(toml, (config_dir_ / "sluice.toml").string(), config_dir_.string(), list_dirs);
    std::string out;
    for (const auto& d : r.diagnostics) out += d.to_string() + "\n";
    EXPECT_EQ(r.config.has_value(), out.empty());
    return out;
  }
  static std::string set_file(const fs::path& p) {
    return "[sets]\nx = { file = \"" + p.string() + "\" }\n";
  }

  fs::path root_, config_dir_, private_dir_, lists_dir_;
};

TEST_F(ListFiles, AFileOutsideTheAllowedDirectoriesIsRefusedUnread) {
  auto out = diagnostics(set_file(private_dir_ / "shadow"));
  EXPECT_NE(out.find("outside the directories files are read from"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret-hash"), std::string::npos) << out;
  EXPECT_EQ(out.find("root:"), std::string::npos) << out;
}

TEST_F(ListFiles, ARelativePathCannotClimbOut) {
  auto out = diagnostics("[sets]\nx = { file = \"../private/shadow\" }\n");
  EXPECT_NE(out.find("outside the directories"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret-hash"), std::string::npos) << out;
}

TEST_F(ListFiles, ASymbolicLinkInsideLeadingOutIsRefused) {
  fs::create_symlink(private_dir_ / "shadow", config_dir_ / "innocent.txt");
  auto out = diagnostics("[sets]\nx = { file = \"innocent.txt\" }\n");
  EXPECT_NE(out.find("outside the directories"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret-hash"), std::string::npos) << out;
}

TEST_F(ListFiles, DevicesAreRefusedWithoutReading) {
  auto out = diagnostics(set_file("/dev/zero"));
  EXPECT_NE(out.find("outside the directories"), std::string::npos) << out;
  // Even inside an allowed directory a device is not a list.
  out = diagnostics(set_file("/dev/zero"), {"/dev"});
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
}

TEST_F(ListFiles, AFifoIsRefusedAtOnce) {
  ASSERT_EQ(mkfifo((config_dir_ / "pipe").c_str(), 0600), 0);
  auto out = diagnostics(
      "[sets]\nx = { file = \"pipe\" }\n");  // would block forever if opened for reading
  EXPECT_NE(out.find("not a regular file"), std::string::npos) << out;
}

TEST_F(ListFiles, AFileOverTheLimitIsRefused) {
  auto big = config_dir_ / "big.txt";
  { std::ofstream(big) << "192.0.2.0/24\n"; }
  fs::resize_file(big, sluice::config::kMaxSetFileBytes + 1);  // sparse: no disk used
  auto out = diagnostics("[sets]\nx = { file = \"big.txt\" }\n");
  EXPECT_NE(out.find("larger than 64 MiB"), std::string::npos) << out;
}

TEST_F(ListFiles, ListsInsideTheConfigDirectoryAndListDirectoriesAreRead) {
  write(config_dir_ / "a.txt", "192.0.2.0/24\n");
  write(lists_dir_ / "b.txt", "198.51.100.7\n");
  auto r = parse_string("[sets]\na = { file = \"a.txt\" }\nb = { file = \"" +
                            (lists_dir_ / "b.txt").string() + "\" }\n",
                        "sluice.toml", config_dir_.string(), {lists_dir_.string()});
  ASSERT_TRUE(r.config) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
  EXPECT_EQ(r.config->sets.at("a").prefixes.size(), 1u);
  EXPECT_EQ(r.config->sets.at("b").prefixes.size(), 1u);
  // Without the list directory the second is refused.
  auto out = diagnostics("[sets]\nb = { file = \"" + (lists_dir_ / "b.txt").string() + "\" }\n");
  EXPECT_NE(out.find("outside the directories"), std::string::npos) << out;
}

TEST_F(ListFiles, BadLinesAreLocatedButNotQuoted) {
  write(config_dir_ / "mixed.txt", "192.0.2.0/24\nsecret-word-here\n10.1.2.3/8\n198.51.100.0/40\n");
  auto out = diagnostics("[sets]\nx = { file = \"mixed.txt\" }\n");
  auto file = (config_dir_ / "mixed.txt").string();
  EXPECT_EQ(out,
            file + ":2:1: sets.x: not an IPv4 or IPv6 address or prefix\n" + file +
                ":3:1: sets.x: host bits set below the prefix length; write the prefix's first "
                "address\n" +
                file +
                ":4:1: sets.x: prefix length out of range (0..32 for IPv4, 0..128 for IPv6)\n");
  EXPECT_EQ(out.find("secret-word"), std::string::npos);
}

TEST_F(ListFiles, AListOfJunkGivesABoundedNumberOfDiagnostics) {
  std::string junk;
  for (int i = 0; i < 100000; ++i) junk += "junk\n";
  write(config_dir_ / "junk.txt", junk);
  auto r =
      parse_string("[sets]\nx = { file = \"junk.txt\" }\n", "sluice.toml", config_dir_.string());
  EXPECT_EQ(r.diagnostics.size(), 21u);
  EXPECT_EQ(r.diagnostics.back().message, "more lines are not addresses; reading stopped here");
}

TEST_F(ListFiles, TlsFilesThatAreNotRegularFilesAreRefusedWithoutOpening) {
  ASSERT_EQ(mkfifo((config_dir_ / "cert.pipe").c_str(), 0600), 0);
  write(config_dir_ / "key.pem", "k");
  auto out = diagnostics("[api]\ntls_cert = \"cert.pipe\"\ntls_key = \"key.pem\"\n");
  EXPECT_NE(out.find("api.tls_cert: cannot read"), std::string::npos) << out;
}

TEST(ConfigFiles, AConfigFileThatIsNotARegularFileIsRefused) {
  auto r = sluice::config::parse_file("/dev/zero");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            "/dev/zero:0:0: cannot read config file: not a regular file");
}

}  // namespace
