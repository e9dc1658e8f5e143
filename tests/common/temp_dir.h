// A directory for one test's files, removed with all it holds when the
// test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace sluice::testkit {

class TempDir {
 public:
  explicit TempDir(const std::string& name = "sluice-test") {
    std::string tmpl = "/tmp/" + name + "-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace sluice::testkit
