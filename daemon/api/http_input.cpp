#include "api/http_input.h"

#include <nlohmann/json.hpp>

namespace sluice::api {

bool json_depth_within(const std::string& text, int max) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

std::optional<nlohmann::json> body_object(const std::string& body, std::string& error) {
  if (body.empty()) return nlohmann::json::object();
  if (!json_depth_within(body, kMaxJsonDepth)) {
    error = "the JSON body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return std::nullopt;
  }
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    error = "the body is not valid JSON (UTF-8)";
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  return parsed;
}

std::string cookie_value(const std::string& header, const std::string& name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    auto end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    auto part = header.substr(pos, end - pos);
    auto start = part.find_first_not_of(' ');
    if (start != std::string::npos) part = part.substr(start);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return {};
}

}  // namespace sluice::api
