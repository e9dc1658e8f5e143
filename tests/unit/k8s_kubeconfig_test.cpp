// Reading where the API server is: kubeconfig files as k3s and kubectl
// write them, and a pod's service account. What cannot work (no CA, a
// credential plugin, plain http) is refused with the entry named.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "k8s/kubeconfig.h"

namespace {

namespace fs = std::filesystem;
using namespace sluice;

class Kubeconfig : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-kubeconfig-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A kubeconfig with the two contexts below; cluster and user entries
  // replaced by the test's.
  std::string write(const std::string& cluster, const std::string& user,
                    const std::string& current = "lab") {
    auto path = (dir_ / "config").string();
    std::ofstream(path) << "apiVersion: v1\nkind: Config\n"
                        << "clusters:\n- name: lab\n  cluster:\n"
                        << cluster
                        << "- name: other\n  cluster:\n    server: https://[fd00::1]:7443\n"
                        << "    certificate-authority: /etc/other-ca.crt\n"
                        << "users:\n- name: admin\n  user:\n"
                        << user
                        << "contexts:\n- name: lab\n  context: {cluster: lab, user: admin}\n"
                        << "- name: other\n  context: {cluster: other, user: admin}\n"
                        << (current.empty() ? "" : "current-context: " + current + "\n");
    return path;
  }
  std::string error(const std::string& path, const std::string& context = "") {
    try {
      k8s::read_kubeconfig(path, context, (dir_ / "data").string());
    } catch (const k8s::ConnectionError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

const std::string kCluster =
    "    server: https://127.0.0.1:6443\n    certificate-authority: ca.crt\n";

TEST_F(Kubeconfig, InlineCertificatesBecomePrivateFiles) {
  // "hello CA\n", "cert", "key" in base64, as k3s.yaml has them.
  auto path = write(
      "    server: https://127.0.0.1:6443\n"
      "    certificate-authority-data: aGVsbG8gQ0EK\n",
      "    client-certificate-data: Y2VydA==\n    client-key-data: a2V5\n");
  auto s = k8s::read_kubeconfig(path, "", (dir_ / "data").string());
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 6443);
  std::ifstream ca(s.ca_file), cert(s.cert_file), key(s.key_file);
  std::string ca_text, cert_text, key_text;
  std::getline(ca, ca_text);
  cert >> cert_text;
  key >> key_text;
  EXPECT_EQ(ca_text, "hello CA");
  EXPECT_EQ(cert_text, "cert");
  EXPECT_EQ(key_text, "key");
  struct stat st {};
  ASSERT_EQ(stat(s.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(Kubeconfig, PathsAreTheFilesDirectorysAndAContextCanBeChosen) {
  auto path = write(kCluster, "    token: abc\n");
  auto s = k8s::read_kubeconfig(path, "", (dir_ / "data").string());
  EXPECT_EQ(s.ca_file, (dir_ / "ca.crt").string());
  EXPECT_EQ(s.token, "abc");
  auto other = k8s::read_kubeconfig(path, "other", (dir_ / "data").string());
  EXPECT_EQ(other.host, "fd00::1");
  EXPECT_EQ(other.port, 7443);
  EXPECT_EQ(other.ca_file, "/etc/other-ca.crt");
}

TEST_F(Kubeconfig, WhatCannotWorkIsRefusedNamingTheEntry) {
  auto path = write(kCluster, "    token: abc\n");
  EXPECT_EQ(error(path, "nope"), path + ": no contexts entry named 'nope'");
  EXPECT_EQ(error(write(kCluster, "    token: abc\n", "")),
            path + ": no current-context, and none given");
  EXPECT_EQ(error(write("    server: http://127.0.0.1:6443\n    certificate-authority: ca.crt\n",
                        "    token: abc\n")),
            path +
                ": the API server URL 'http://127.0.0.1:6443' is not https:// (plain http is "
                "refused)");
  EXPECT_EQ(error(write("    server: https://127.0.0.1:6443\n", "    token: abc\n")),
            path +
                ": cluster 'lab' has no certificate-authority(-data): the server cannot be "
                "verified");
  EXPECT_EQ(error(write(kCluster + "    insecure-skip-tls-verify: true\n", "    token: abc\n")),
            path + ": insecure-skip-tls-verify is refused (give the cluster's CA)");
  EXPECT_NE(error(write(kCluster, "    exec: {command: aws}\n")).find("credential plugin"),
            std::string::npos);
  EXPECT_EQ(
      error(write(kCluster, "    client-certificate: c.crt\n")),
      path + ": user 'admin' has a client certificate without its key or the other way round");
  EXPECT_EQ(error(write(kCluster, "    username: admin\n")),
            path + ": user 'admin' has neither a token nor a client certificate");
  EXPECT_EQ(
      error(write("    server: https://127.0.0.1:6443\n    certificate-authority-data: '%%%'\n",
                  "    token: abc\n")),
      path + ": certificate-authority-data is not base64");
  std::ofstream(path) << "clusters: [\n";
  EXPECT_EQ(error(path).rfind(path + ": not YAML: ", 0), 0u) << error(path);
  EXPECT_EQ(error((dir_ / "missing").string()), (dir_ / "missing").string() + ": cannot be read");
}

TEST_F(Kubeconfig, InAPodTheServiceAccountIsUsed) {
  std::ofstream(dir_ / "token") << "t\n";
  std::ofstream(dir_ / "ca.crt") << "ca\n";
  unsetenv("KUBERNETES_SERVICE_HOST");
  try {
    k8s::in_cluster(dir_.string());
    ADD_FAILURE() << "no environment, yet a server";
  } catch (const k8s::ConnectionError& e) {
    EXPECT_NE(std::string(e.what()).find("not in a pod"), std::string::npos);
  }
  setenv("KUBERNETES_SERVICE_HOST", "fd00:43::1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto s = k8s::in_cluster(dir_.string());
  EXPECT_EQ(s.host, "fd00:43::1");
  EXPECT_EQ(s.port, 443);
  EXPECT_EQ(s.token_file, (dir_ / "token").string());
  EXPECT_EQ(s.ca_file, (dir_ / "ca.crt").string());
  fs::remove(dir_ / "token");
  EXPECT_THROW(k8s::in_cluster(dir_.string()), k8s::ConnectionError);
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
}

}  // namespace
