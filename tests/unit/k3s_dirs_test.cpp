// Where `sluicectl cni install --k3s` and `sluiced --install-cni k3s` put
// sluice-cni on a k3s node: read from k3s's containerd configuration as
// its releases write it, with k3s's defaults where it is silent.
#include "service/k3s_dirs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using sluice::service::k3s_cni_dirs;

class K3sDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.file("root");
    fs::create_directories(root_);
  }
  void containerd_config(const std::string& text) {
    auto at = fs::path(root_ + "/var/lib/rancher/k3s/agent/etc/containerd");
    fs::create_directories(at);
    std::ofstream(at / "config.toml") << text;
  }
  sluice::testkit::TempDir dir_{"sluice-k3s"};
  std::string root_;
};

TEST_F(K3sDirs, NoK3sNoDirectories) {
  try {
    k3s_cni_dirs(root_);
    ADD_FAILURE() << "found k3s in an empty directory";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "no k3s here: " + root_ + "/var/lib/rancher/k3s is not a directory");
  }
}

TEST_F(K3sDirs, K3sDefaultsWhenContainerdSaysNothing) {
  fs::create_directories(root_ + "/var/lib/rancher/k3s/data/current/bin");
  auto old = k3s_cni_dirs(root_);  // an older release: data/current/bin
  EXPECT_EQ(old.conf_dir, root_ + "/var/lib/rancher/k3s/agent/etc/cni/net.d");
  EXPECT_EQ(old.bin_dir, root_ + "/var/lib/rancher/k3s/data/current/bin");
  fs::create_directories(root_ + "/var/lib/rancher/k3s/data/cni");
  EXPECT_EQ(k3s_cni_dirs(root_).bin_dir, root_ + "/var/lib/rancher/k3s/data/cni");
}

TEST_F(K3sDirs, ContainerdOneConfiguration) {
  containerd_config(R"(version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/var/lib/rancher/k3s/data/0a1b2c/bin"
  conf_dir = "/etc/cni/net.d"
)");
  auto d = k3s_cni_dirs(root_);
  EXPECT_EQ(d.bin_dir, root_ + "/var/lib/rancher/k3s/data/0a1b2c/bin");
  EXPECT_EQ(d.conf_dir, root_ + "/etc/cni/net.d");
}

TEST_F(K3sDirs, ContainerdTwoConfigurationWithBinDirs) {
  containerd_config(R"(version = 3
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ["/var/lib/rancher/k3s/data/cni", "/opt/cni/bin"]
)");
  auto d = k3s_cni_dirs(root_);
  EXPECT_EQ(d.bin_dir, root_ + "/var/lib/rancher/k3s/data/cni");
  EXPECT_EQ(d.conf_dir, root_ + "/var/lib/rancher/k3s/agent/etc/cni/net.d");
}

TEST_F(K3sDirs, AConfigurationThatIsNotTomlIsNamed) {
  containerd_config("[plugins\n");
  try {
    k3s_cni_dirs(root_);
    ADD_FAILURE() << "read a broken containerd configuration";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(
                  root_ + "/var/lib/rancher/k3s/agent/etc/containerd/config.toml: ", 0),
              0u)
        << e.what();
  }
}

}  // namespace
