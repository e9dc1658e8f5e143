#include "config/selector.h"

#include <cctype>

namespace sluice::config {

namespace {

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// 1-63 characters, letters and digits at both ends, "-_." inside.
std::string name_part_error(std::string_view s, const char* what) {
  if (s.empty() || s.size() > 63) return std::string(what) + " must have 1 to 63 characters";
  if (!alnum(s.front()) || !alnum(s.back()))
    return std::string(what) + " must begin and end with a letter or digit";
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '_' && c != '.')
      return std::string(what) + " may hold only letters, digits, '-', '_' and '.'";
  return {};
}

}  // namespace

std::string label_key_error(std::string_view key) {
  auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    auto prefix = key.substr(0, slash);
    if (prefix.empty() || prefix.size() > 253)
      return "the prefix before '/' must have 1 to 253 characters";
    for (char c : prefix)
      if (!alnum(c) && c != '-' && c != '.')
        return "the prefix before '/' may hold only letters, digits, '-' and '.'";
    key = key.substr(slash + 1);
  }
  return name_part_error(key, "a label name");
}

std::string label_value_error(std::string_view value) {
  return value.empty() ? std::string() : name_part_error(value, "a label value");
}

std::string name_glob_error(std::string_view glob) {
  if (glob.empty() || glob.size() > 253) return "must have 1 to 253 characters";
  for (char c : glob)
    if (!alnum(c) && std::string_view("-_.:*?").find(c) == std::string_view::npos)
      return "may hold only letters, digits, '-', '_', '.', ':' and the wildcards '*' and '?'";
  return {};
}

bool glob_matches(std::string_view glob, std::string_view name) {
  // Iterative matching with one backtrack point: linear in practice and
  // never exponential, whatever the glob.
  std::size_t g = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool selects(const Selector& s, const std::string& name, const Labels& labels) {
  if (!s.container.empty() && !glob_matches(s.container, name)) return false;
  for (const auto& [k, v] : s.labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string to_string(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

}  // namespace sluice::config
