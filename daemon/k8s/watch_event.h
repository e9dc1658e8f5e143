// One event of a Kubernetes watch stream: a line of JSON,
// {"type": "ADDED|MODIFIED|DELETED|BOOKMARK|ERROR", "object": {...}}.
// An ERROR carries a Status object (code 410: the resource version asked
// for is gone from the server's history, a relist is needed).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "k8s/limits.h"

namespace sluice::k8s {

// What is wrong with a line from the server (not JSON, not an event, too
// large): the message says which.
struct WatchFormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark, Error } type = Type::Added;
  std::shared_ptr<const nlohmann::json> object;  // Added/Modified/Deleted
  std::string resource_version;                  // the object's; a bookmark's
  int status_code = 0;                           // Error: the Status's code
  std::string status_message;                    // Error: its reason and message
};

// Parses one line (without its newline). Throws WatchFormatError.
WatchEvent parse_watch_event(std::string_view line, const Limits& limits);

// The string at key in j, or "" when there is none (or it is not one).
std::string string_field(const nlohmann::json& j, const char* key);

// The namespace/name an object is kept under ("" namespace: cluster-wide
// kinds such as Node and Namespace). Throws WatchFormatError without a
// metadata.name.
std::string object_key(const nlohmann::json& object);

}  // namespace sluice::k8s
