// Reading a file named by configuration, defensively: only a regular file
// (a FIFO or a device such as /dev/zero would never end), never more than
// a bound, and only inside directories the operator chose.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sluice::config {

struct FileText {
  std::optional<std::string> text;  // set when the file was read whole
  std::string error;                // why not (the reason alone: the caller names the file)
};

// The contents of the regular file at path, if it is at most max_bytes.
FileText read_bounded_file(const std::string& path, std::size_t max_bytes);

// The same, refused before anything is opened unless path (symbolic links
// resolved) lies inside one of dirs, and checked again on the open file.
FileText read_bounded_file_inside(const std::string& path, const std::vector<std::string>& dirs,
                                  std::size_t max_bytes);

}  // namespace sluice::config
