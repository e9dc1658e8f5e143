#include "config/bounded_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace sluice::config {

namespace {

namespace fs = std::filesystem;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string mib(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

bool within(const fs::path& file, const fs::path& dir) {
  auto d = dir.begin();
  auto f = file.begin();
  for (; d != dir.end(); ++d, ++f) {
    if (d->empty()) continue;  // a trailing separator
    if (f == file.end() || *f != *d) return false;
  }
  return true;
}

// Whether the resolved path lies in one of the (resolved) directories.
bool inside_any(const fs::path& resolved, const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    std::error_code ec;
    auto dir = fs::weakly_canonical(fs::absolute(d, ec), ec);
    if (!ec && within(resolved, dir)) return true;
  }
  return false;
}

std::string list(const std::vector<std::string>& dirs) {
  std::string out;
  for (const auto& d : dirs) out += (out.empty() ? "" : ", ") + d;
  return out;
}

FileText read_open(int fd, std::size_t max_bytes) {
  FileText out;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  if (!S_ISREG(st.st_mode)) {
    out.error = "not a regular file";
    return out;
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    out.error = "larger than " + mib(max_bytes);
    return out;
  }
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  // A file that grows while read is cut at the size it had: bounded either way.
  while (got < text.size()) {
    ssize_t n = read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = std::strerror(errno);
      return out;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  out.text = std::move(text);
  return out;
}

int open_nonblocking(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it next.
  return open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

}  // namespace

FileText read_bounded_file(const std::string& path, std::size_t max_bytes) {
  Fd f{open_nonblocking(path)};
  if (f.fd < 0) return {std::nullopt, std::strerror(errno)};
  return read_open(f.fd, max_bytes);
}

FileText read_bounded_file_inside(const std::string& path, const std::vector<std::string>& dirs,
                                  std::size_t max_bytes) {
  std::string outside = "outside the directories files are read from (" + list(dirs) +
                        "); move it there, or start sluiced with --list-dir naming its directory";
  std::error_code ec;
  auto resolved = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec || !inside_any(resolved, dirs)) return {std::nullopt, outside};
  Fd f{open_nonblocking(resolved.string())};
  if (f.fd < 0) return {std::nullopt, std::strerror(errno)};
  // A link swapped in between the check and the open: judge what was opened.
  auto opened = fs::read_symlink("/proc/self/fd/" + std::to_string(f.fd), ec);
  if (ec || !inside_any(opened, dirs)) return {std::nullopt, outside};
  return read_open(f.fd, max_bytes);
}

}  // namespace sluice::config
