// A CNI error as the spec defines it: a well-known code, a short message,
// and details that say what to fix. The plugin prints it on stdout as
// JSON and exits non-zero.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace sluice::cni {

// The spec's well-known codes (1-99), and ours from 100.
enum Code : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodingFailure = 6,
  kInvalidNetworkConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,         // STATUS: ADD cannot be served
  kNotAvailableLimited = 51,  // STATUS: and existing containers may be cut off
  kRefusedBySluiced = 100,    // sluiced answered the request with an error
  kNoFreeAddress = 101,       // ADD: a [containers] pool has no address left
};

struct Error {
  int code = 0;
  std::string msg;
  std::string details;
};

// The error object, in the CNI version of the request (or the newest we
// speak when the request's could not be read).
nlohmann::json to_json(const Error& e, const std::string& cni_version);

}  // namespace sluice::cni
