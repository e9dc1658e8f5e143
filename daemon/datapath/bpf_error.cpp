#include "datapath/bpf_error.h"

#include <cstring>

namespace sluice::datapath {

BpfError::BpfError(const std::string& what, int err)
    : std::runtime_error(what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")"),
      err_(err) {}

void check(int rc, const std::string& what) {
  if (rc < 0) throw BpfError(what, -rc);
}

}  // namespace sluice::datapath
