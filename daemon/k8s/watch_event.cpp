#include "k8s/watch_event.h"

#include <nlohmann/json.hpp>

namespace sluice::k8s {

std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string object_key(const nlohmann::json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object())
    throw WatchFormatError("an object without metadata");
  auto name = string_field(*meta, "name");
  if (name.empty()) throw WatchFormatError("an object without metadata.name");
  auto ns = string_field(*meta, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

WatchEvent parse_watch_event(std::string_view line, const Limits& limits) {
  if (line.size() > limits.max_object_bytes)
    throw WatchFormatError("a watch event of " + std::to_string(line.size()) +
                           " bytes (the limit is " + std::to_string(limits.max_object_bytes) + ")");
  auto doc = nlohmann::json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw WatchFormatError("a watch event that is not a JSON object");
  auto type = string_field(doc, "type");
  auto object = doc.find("object");
  if (object == doc.end() || !object->is_object())
    throw WatchFormatError("a watch event (" + type + ") without an object");
  WatchEvent e;
  if (type == "ERROR") {
    e.type = WatchEvent::Type::Error;
    auto code = object->find("code");
    e.status_code = code != object->end() && code->is_number_integer() ? code->get<int>() : 0;
    e.status_message = string_field(*object, "reason");
    auto message = string_field(*object, "message");
    if (!message.empty()) e.status_message += (e.status_message.empty() ? "" : ": ") + message;
    return e;
  }
  auto meta = object->find("metadata");
  if (meta == object->end() || !meta->is_object())
    throw WatchFormatError("a watch event (" + type + ") whose object has no metadata");
  e.resource_version = string_field(*meta, "resourceVersion");
  if (e.resource_version.empty())
    throw WatchFormatError("a watch event (" + type + ") without metadata.resourceVersion");
  if (type == "BOOKMARK") {
    e.type = WatchEvent::Type::Bookmark;
    return e;
  }
  if (type == "ADDED")
    e.type = WatchEvent::Type::Added;
  else if (type == "MODIFIED")
    e.type = WatchEvent::Type::Modified;
  else if (type == "DELETED")
    e.type = WatchEvent::Type::Deleted;
  else
    throw WatchFormatError("a watch event of unknown type '" + type.substr(0, 32) + "'");
  object_key(*object);  // a name to keep it under, or an error
  e.object = std::make_shared<const nlohmann::json>(std::move(*object));
  return e;
}

}  // namespace sluice::k8s
