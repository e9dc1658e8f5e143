// Logging for journald: one event a line on stderr, with the syslog
// priority as a "<N>" prefix (sd-daemon(3) convention).
#pragma once

#include <string>

namespace sluice {

enum class Priority { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

void log(Priority p, const std::string& message);

}  // namespace sluice
