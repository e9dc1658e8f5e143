#include "k8s/reflector.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "k8s/watch_event.h"

namespace sluice::k8s {

namespace {

// Continue tokens and resource versions are opaque: escaped for a query.
std::string query_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

constexpr int kGone = 410;
constexpr int kWatchSeconds = 300;  // the server ends a watch after this; it resumes

}  // namespace

Reflector::Reflector(std::string collection, Limits limits)
    : collection_(std::move(collection)), limits_(limits) {}

std::string Reflector::next_request() const {
  if (listing_) {
    std::string path = collection_ + "?limit=" + std::to_string(limits_.page_size);
    if (!continue_.empty()) path += "&continue=" + query_escape(continue_);
    return path;
  }
  return collection_ +
         "?watch=1&allowWatchBookmarks=true&resourceVersion=" + query_escape(version_) +
         "&timeoutSeconds=" + std::to_string(kWatchSeconds);
}

std::vector<std::string> Reflector::take_problems() {
  std::vector<std::string> out;
  out.swap(problems_);
  return out;
}

void Reflector::problem(std::string what) {
  healthy_ = false;
  if (problems_.size() < 100) problems_.push_back(collection_ + ": " + std::move(what));
}

// Starts over with a new list; the objects stay as they are until it is
// complete.
void Reflector::relist(const std::string& why) {
  problem(why + "; listing again");
  listing_ = true;
  continue_.clear();
  pending_.clear();
  pending_version_.clear();
  partial_.clear();
  drop_stream_ = true;
}

void Reflector::on_list_response(int status, std::string_view body) {
  if (!listing_) return;
  healthy_ = false;
  if (status == kGone && !continue_.empty()) {  // the snapshot the pages came from expired
    ++counters_.relists_gone;
    relist("the list's continue token expired (410)");
    return;
  }
  if (status != 200) {
    problem(status ? "list answered " + std::to_string(status) : "list: no answer");
    continue_.clear();  // the next try starts from the first page
    pending_.clear();
    return;
  }
  if (body.size() > limits_.max_page_bytes) {
    problem("a list page of " + std::to_string(body.size()) + " bytes (the limit is " +
            std::to_string(limits_.max_page_bytes) + ")");
    continue_.clear();
    pending_.clear();
    return;
  }
  auto doc = nlohmann::json::parse(body, nullptr, false);
  auto items = doc.is_object() ? doc.find("items") : doc.end();
  auto meta = doc.is_object() ? doc.find("metadata") : doc.end();
  if (doc.is_discarded() || items == doc.end() || !items->is_array() || meta == doc.end() ||
      !meta->is_object()) {
    problem("a list answer that is not a Kubernetes list");
    continue_.clear();
    pending_.clear();
    return;
  }
  if (continue_.empty()) pending_version_ = string_field(*meta, "resourceVersion");
  for (auto& item : *items) {
    try {
      if (item.dump().size() > limits_.max_object_bytes)
        throw WatchFormatError("an object larger than " + std::to_string(limits_.max_object_bytes) +
                               " bytes");
      auto key = object_key(item);
      if (pending_.size() >= limits_.max_objects && !pending_.count(key))
        throw WatchFormatError("more than " + std::to_string(limits_.max_objects) + " objects");
      pending_[key] = std::make_shared<const nlohmann::json>(std::move(item));
    } catch (const WatchFormatError& e) {
      ++counters_.rejected;
      problem(std::string("list: skipped ") + e.what());
    }
  }
  auto next = string_field(*meta, "continue");
  if (!next.empty()) {
    continue_ = next;
    healthy_ = true;
    return;
  }
  if (pending_version_.empty()) {
    problem("a list answer without metadata.resourceVersion");
    pending_.clear();
    return;
  }
  ++counters_.lists;
  objects_.swap(pending_);
  pending_.clear();
  version_ = pending_version_;
  continue_.clear();
  listing_ = false;
  healthy_ = true;
  ++generation_;
}

bool Reflector::on_watch_bytes(std::string_view bytes) {
  if (listing_) return false;
  drop_stream_ = false;
  while (!bytes.empty() && !drop_stream_) {
    auto end = bytes.find('\n');
    if (end == std::string_view::npos) {
      partial_.append(bytes);
      if (partial_.size() > limits_.max_object_bytes)
        relist("a watch event longer than " + std::to_string(limits_.max_object_bytes) + " bytes");
      break;
    }
    partial_.append(bytes.substr(0, end));
    bytes.remove_prefix(end + 1);
    std::string line;
    line.swap(partial_);
    if (!line.empty()) apply_line(line);
  }
  return !drop_stream_;
}

void Reflector::apply_line(std::string_view line) {
  WatchEvent e;
  try {
    e = parse_watch_event(line, limits_);
  } catch (const WatchFormatError& err) {
    ++counters_.rejected;
    relist(std::string("watch: ") + err.what());  // an update may be lost: start over
    return;
  }
  ++counters_.events;
  healthy_ = true;
  switch (e.type) {
    case WatchEvent::Type::Error:
      if (e.status_code == kGone) {
        ++counters_.relists_gone;
        relist("watch: 410 " + e.status_message);
      } else {
        problem("watch error " + std::to_string(e.status_code) + " " + e.status_message);
        drop_stream_ = true;  // resume from the version reached
      }
      return;
    case WatchEvent::Type::Bookmark:
      version_ = e.resource_version;
      return;
    case WatchEvent::Type::Added:
    case WatchEvent::Type::Modified: {
      auto key = object_key(*e.object);
      if (objects_.size() >= limits_.max_objects && !objects_.count(key)) {
        ++counters_.rejected;
        problem("watch: more than " + std::to_string(limits_.max_objects) + " objects; " + key +
                " not kept");
      } else {
        objects_[key] = e.object;
        ++generation_;
      }
      break;
    }
    case WatchEvent::Type::Deleted:
      if (objects_.erase(object_key(*e.object))) ++generation_;
      break;
  }
  version_ = e.resource_version;
}

void Reflector::on_watch_end(int status) {
  if (listing_) return;
  partial_.clear();
  if (status == kGone) {
    ++counters_.relists_gone;
    relist("watch refused with 410");
  } else if (status != 200) {
    problem(status ? "watch answered " + std::to_string(status) : "watch: connection lost");
  }
}

}  // namespace sluice::k8s
