#include "common/log.h"

#include <cstdio>

namespace sluice {

void log(Priority p, const std::string& message) {
  std::string line = "<" + std::to_string(static_cast<int>(p)) + ">";
  // One event, one line: journald would split a multi-line message.
  for (char c : message) line += c == '\n' ? ' ' : c;
  line += '\n';
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace sluice
