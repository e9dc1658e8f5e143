// Failures of bpf()/libbpf calls, with errno and what we were doing.
#pragma once

#include <stdexcept>
#include <string>

namespace sluice::datapath {

class BpfError : public std::runtime_error {
 public:
  // err is a positive errno value.
  BpfError(const std::string& what, int err);
  int error_code() const { return err_; }

 private:
  int err_;
};

// The machine lacks what the datapath needs (no bpf filesystem for the
// pins, say) and no retry will help: sluiced exits with
// kExitUnfitEnvironment, which its systemd unit does not restart on.
class UnfitEnvironment : public BpfError {
 public:
  using BpfError::BpfError;
};
constexpr int kExitUnfitEnvironment = 78;  // EX_CONFIG

// Throws BpfError(what, -rc) when a libbpf call returned a negative rc.
void check(int rc, const std::string& what);

}  // namespace sluice::datapath
