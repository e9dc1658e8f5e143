#include "config/parser.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "config/bounded_file.h"
#include "config/parser_sections.h"

namespace sluice::config {

namespace detail {

// Checked without opening: opening a FIFO would wait for a writer.
bool readable_regular_file(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), R_OK) == 0;
}

// Whether an [api] listen address (ADDRESS:PORT) is on loopback only.
bool loopback_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon == std::string::npos ? listen.size() : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1") return true;
  auto parsed = parse_prefix(host);
  return parsed.prefix && parsed.prefix->family == Family::V4 && parsed.prefix->addr[0] == 127;
}

}  // namespace detail

ParseResult parse_string(std::string_view text, const std::string& source_name,
                         const std::string& base_dir, const std::vector<std::string>& list_dirs) {
  return detail::Parser(source_name, base_dir, list_dirs).run(text);
}

ParseResult parse_file(const std::string& path, const std::vector<std::string>& list_dirs) {
  auto file = read_bounded_file(path, kMaxConfigBytes);
  if (!file.text) {
    ParseResult r;
    r.diagnostics.push_back({{path, 0, 0}, "", "cannot read config file: " + file.error});
    return r;
  }
  auto dir = std::filesystem::path(path).parent_path().string();
  return parse_string(*file.text, path, dir.empty() ? "." : dir, list_dirs);
}

}  // namespace sluice::config
