// The objects of one Kubernetes collection (pods, namespaces, nodes,
// network policies) as the API server has them, kept current by the
// list/watch protocol: list (in pages) for a consistent snapshot and its
// resourceVersion, then watch from that version; bookmarks move the
// version on, a watch that ends resumes from it, and 410 Gone (the server
// no longer has that history) or anything the client cannot trust (a
// malformed or oversized event: an update may be lost) starts a new list.
// Only the protocol: the HTTPS transport drives it (next_request, the
// on_* calls), so the protocol is tested without a server.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "k8s/limits.h"

namespace sluice::k8s {

class Reflector {
 public:
  using Objects = std::map<std::string, std::shared_ptr<const nlohmann::json>>;  // by object_key

  // collection: the API path, e.g. "/api/v1/pods" or
  // "/apis/networking.k8s.io/v1/networkpolicies".
  Reflector(std::string collection, Limits limits);

  // The request to make next: a page of the list, or the watch.
  std::string next_request() const;
  bool listing() const { return listing_; }

  // The answer to a list request (status 0: no answer, the connection
  // failed).
  void on_list_response(int status, std::string_view body);
  // Bytes of a watch response as they arrive. Returns false when the
  // stream must be dropped (the next request is a new list or watch).
  bool on_watch_bytes(std::string_view bytes);
  // The watch request ended: status 200 when the stream ended (the
  // server's timeout), its status when it was refused, 0 when the
  // connection failed.
  void on_watch_end(int status);

  const Limits& limits() const { return limits_; }
  const std::string& collection() const { return collection_; }
  const Objects& objects() const { return objects_; }
  const std::string& resource_version() const { return version_; }
  // Bumped by every change of objects(): consumers compare it.
  std::uint64_t generation() const { return generation_; }
  // Whether the last request went well (the driver backs off when not).
  bool healthy() const { return healthy_; }
  // What went wrong since the last call, for the log.
  std::vector<std::string> take_problems();

  struct Counters {
    std::uint64_t lists = 0, events = 0, relists_gone = 0, rejected = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  void apply_line(std::string_view line);
  void relist(const std::string& why);
  void problem(std::string what);

  std::string collection_;
  Limits limits_;
  bool listing_ = true;
  std::string continue_;  // the next page of the list in progress
  Objects pending_;       // the list in progress
  std::string pending_version_;
  Objects objects_;
  std::string version_;
  std::string partial_;  // a watch line not complete yet
  bool drop_stream_ = false;
  bool healthy_ = true;
  std::uint64_t generation_ = 0;
  std::vector<std::string> problems_;
  Counters counters_;
};

}  // namespace sluice::k8s
