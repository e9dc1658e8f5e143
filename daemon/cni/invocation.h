// What a container runtime asks of the plugin: the CNI_* environment
// variables and the network configuration on stdin, checked as the spec
// requires before anything is done about them.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "cni/cni_error.h"

namespace sluice::cni {

enum class Command { Add, Del, Check, Status, Version, Gc };

std::string_view command_name(Command c);

struct Invocation {
  Command command = Command::Version;
  std::string container_id;                               // ADD, DEL, CHECK
  std::string netns;                                      // ADD, CHECK; DEL may come without it
  std::string ifname;                                     // ADD, DEL, CHECK
  std::string path;                                       // CNI_PATH, as given
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS, in order
  nlohmann::json config;    // the network configuration (an object; VERSION: maybe empty)
  std::string cni_version;  // the configuration's (VERSION without one: the newest)
};

// The network configuration may not be larger than this.
inline constexpr std::size_t kMaxConfigBytes = 1 << 20;

// Reads the invocation from the environment (env(name): the variable or
// nullptr) and stdin. The error carries the version to report it in.
struct InvocationError {
  Error error;
  std::string cni_version;
};
std::variant<Invocation, InvocationError> read_invocation(
    const std::function<const char*(const char*)>& env, std::string_view stdin_text);

}  // namespace sluice::cni
