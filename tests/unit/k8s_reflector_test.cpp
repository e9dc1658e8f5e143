// The Kubernetes list/watch protocol (daemon/k8s/reflector.cpp), fed the
// responses an API server sends, in the documented formats: lists in pages
// with resourceVersion and continue, watch streams of ADDED, MODIFIED,
// DELETED, BOOKMARK and ERROR lines, 410 Gone, broken and oversized input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "k8s/reflector.h"
#include "k8s/watch_event.h"

using nlohmann::json;
using sluice::k8s::Limits;
using sluice::k8s::Reflector;

namespace {

json pod(const std::string& name, const std::string& version, const std::string& app = "web") {
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata",
           {{"name", name},
            {"namespace", "x"},
            {"resourceVersion", version},
            {"labels", {{"app", app}}}}}};
}

std::string page(const json& items, const std::string& version, const std::string& cont = "") {
  json meta = {{"resourceVersion", version}};
  if (!cont.empty()) meta["continue"] = cont;
  return json{{"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", meta}, {"items", items}}
      .dump();
}

std::string event(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

std::string gone() {
  return event("ERROR", {{"kind", "Status"},
                         {"apiVersion", "v1"},
                         {"status", "Failure"},
                         {"message", "too old resource version: 5 (90)"},
                         {"reason", "Expired"},
                         {"code", 410}});
}

std::string app_of(const Reflector& r, const std::string& key) {
  auto it = r.objects().find(key);
  return it == r.objects().end() ? "" : (*it->second)["metadata"]["labels"]["app"];
}

// A reflector past its first list: pods a and b at version 10.
Reflector listed() {
  Reflector r("/api/v1/pods", Limits{});
  r.on_list_response(200, page(json::array({pod("a", "7"), pod("b", "9")}), "10"));
  return r;
}

}  // namespace

TEST(K8sReflector, ListsInPagesThenWatchesFromTheListsVersion) {
  Limits limits;
  limits.page_size = 2;
  Reflector r("/api/v1/pods", limits);
  EXPECT_TRUE(r.listing());
  EXPECT_EQ(r.next_request(), "/api/v1/pods?limit=2");
  r.on_list_response(200, page(json::array({pod("a", "3"), pod("b", "4")}), "10", "tok+/="));
  EXPECT_TRUE(r.listing());
  EXPECT_EQ(r.next_request(), "/api/v1/pods?limit=2&continue=tok%2B%2F%3D");
  EXPECT_TRUE(r.objects().empty()) << "nothing is published before the last page";
  r.on_list_response(200, page(json::array({pod("c", "5")}), "11"));
  EXPECT_FALSE(r.listing());
  EXPECT_EQ(r.objects().size(), 3u);
  EXPECT_EQ(r.resource_version(), "10") << "the version of the snapshot, from the first page";
  EXPECT_EQ(r.next_request(),
            "/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=10&timeoutSeconds=300");
  EXPECT_EQ(r.generation(), 1u);
}

TEST(K8sReflector, AppliesEventsSplitAnywhereInTheStream) {
  auto r = listed();
  std::string stream =
      event("ADDED", pod("c", "11")) + event("MODIFIED", pod("a", "12", "db")) +
      event("DELETED", pod("b", "13")) +
      event("BOOKMARK",
            {{"kind", "Pod"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", "20"}}}});
  auto generation = r.generation();
  for (std::size_t at = 0; at < stream.size(); at += 7)
    ASSERT_TRUE(r.on_watch_bytes(std::string_view(stream).substr(at, 7)));
  EXPECT_EQ(r.objects().size(), 2u);
  EXPECT_EQ(app_of(r, "x/a"), "db");
  EXPECT_EQ(app_of(r, "x/c"), "web");
  EXPECT_FALSE(r.objects().count("x/b"));
  EXPECT_EQ(r.generation(), generation + 3);
  EXPECT_EQ(r.resource_version(), "20") << "a bookmark moves the version on";
  EXPECT_EQ(r.counters().events, 4u);
}

TEST(K8sReflector, ADroppedStreamResumesFromTheLastVersion) {
  auto r = listed();
  ASSERT_TRUE(r.on_watch_bytes(event("ADDED", pod("c", "15"))));
  r.on_watch_end(0);
  EXPECT_FALSE(r.listing());
  EXPECT_FALSE(r.healthy()) << "the driver backs off";
  EXPECT_NE(r.next_request().find("resourceVersion=15"), std::string::npos);
  EXPECT_EQ(r.take_problems().size(), 1u);
  r.on_watch_end(200);  // the server's timeout: simply resumes
  EXPECT_FALSE(r.listing());
  EXPECT_TRUE(r.take_problems().empty());
}

TEST(K8sReflector, GoneStartsANewListAndKeepsTheObjectsUntilItIsComplete) {
  auto r = listed();
  EXPECT_FALSE(r.on_watch_bytes(gone() + event("ADDED", pod("z", "99"))))
      << "the stream is dropped at the 410";
  EXPECT_TRUE(r.listing());
  EXPECT_EQ(r.next_request(), "/api/v1/pods?limit=500");
  EXPECT_EQ(r.objects().size(), 2u) << "no event after the 410 is applied";
  EXPECT_EQ(r.counters().relists_gone, 1u);
  r.on_list_response(200, page(json::array({pod("a", "30", "db")}), "40"));
  EXPECT_EQ(r.objects().size(), 1u);
  EXPECT_EQ(app_of(r, "x/a"), "db");
  EXPECT_EQ(r.resource_version(), "40");
  // A watch refused with 410 (before any event) does the same.
  r.on_watch_end(410);
  EXPECT_TRUE(r.listing());
}

TEST(K8sReflector, AnExpiredContinueTokenRestartsTheListFromTheFirstPage) {
  Reflector r("/api/v1/pods", Limits{});
  r.on_list_response(200, page(json::array({pod("a", "3")}), "10", "tok"));
  r.on_list_response(410, R"({"kind":"Status","code":410,"reason":"Expired"})");
  EXPECT_TRUE(r.listing());
  EXPECT_EQ(r.next_request(), "/api/v1/pods?limit=500");
  r.on_list_response(200, page(json::array({pod("b", "12")}), "12"));
  EXPECT_EQ(r.objects().size(), 1u) << "nothing of the expired snapshot is kept";
  EXPECT_TRUE(r.objects().count("x/b"));
}

TEST(K8sReflector, BadJsonInTheStreamIsRejectedAndNothingIsLost) {
  auto r = listed();
  EXPECT_FALSE(r.on_watch_bytes(event("ADDED", pod("c", "11")) + "{\"type\": \"ADDED\", \"obj\n" +
                                event("MODIFIED", pod("a", "13", "db"))));
  EXPECT_EQ(r.counters().rejected, 1u);
  EXPECT_TRUE(r.listing()) << "an update may have been lost: list again";
  EXPECT_EQ(r.objects().size(), 3u) << "what came before the bad line stays";
  auto problems = r.take_problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("not a JSON object"), std::string::npos) << problems[0];
  // The new list has the state the lost update led to.
  r.on_list_response(200, page(json::array({pod("a", "13", "db"), pod("c", "11")}), "13"));
  EXPECT_EQ(app_of(r, "x/a"), "db");
  EXPECT_EQ(r.objects().size(), 2u);
}

TEST(K8sReflector, AnOversizedEventIsNotBufferedBeyondTheLimit) {
  Limits limits;
  limits.max_object_bytes = 4096;
  Reflector r("/api/v1/pods", limits);
  r.on_list_response(200, page(json::array({pod("a", "7")}), "10"));
  std::string huge = event("ADDED", pod("big", "11", std::string(10000, 'x')));
  bool kept = true;
  std::size_t fed = 0;
  for (; fed < huge.size() && kept; fed += 1000)
    kept = r.on_watch_bytes(std::string_view(huge).substr(fed, 1000));
  EXPECT_FALSE(kept);
  EXPECT_LE(fed, 6000u) << "dropped as soon as the line outgrew the limit";
  EXPECT_TRUE(r.listing());
  EXPECT_FALSE(r.objects().count("x/big"));
}

TEST(K8sReflector, ListItemsThatCannotBeKeptAreSkippedTheRestApplies) {
  Limits limits;
  limits.max_object_bytes = 4096;
  limits.max_objects = 3;
  Reflector r("/api/v1/pods", limits);
  json nameless = pod("n", "1");
  nameless["metadata"].erase("name");
  r.on_list_response(200, page(json::array({pod("a", "1"), pod("big", "2", std::string(5000, 'x')),
                                            nameless, pod("b", "3"), pod("c", "4"), pod("d", "5")}),
                               "9"));
  EXPECT_FALSE(r.listing());
  EXPECT_EQ(r.objects().size(), 3u);
  EXPECT_EQ(r.counters().rejected, 3u) << "too big, nameless, one over max_objects";
  EXPECT_EQ(r.take_problems().size(), 3u);
}

TEST(K8sReflector, AFailedListChangesNothingAndStartsOverFromTheFirstPage) {
  auto r = listed();
  r.on_watch_end(410);
  auto before = r.objects();
  r.on_list_response(200, page(json::array({pod("q", "3")}), "50", "more"));
  r.on_list_response(500, R"({"kind":"Status","code":500})");
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.next_request(), "/api/v1/pods?limit=500");
  r.on_list_response(200, "this is not JSON");
  r.on_list_response(200, R"({"kind":"PodList","metadata":{},"items":[]})");
  EXPECT_TRUE(r.listing()) << "a list without a resourceVersion cannot be watched from";
  r.on_list_response(0, "");
  EXPECT_EQ(r.objects(), before);
  EXPECT_EQ(r.take_problems().size(), 5u);  // the 410, 500, bad JSON, no version, no answer
}

TEST(K8sReflector, AWatchErrorOtherThanGoneResumesFromTheVersionReached) {
  auto r = listed();
  EXPECT_FALSE(r.on_watch_bytes(
      event("ADDED", pod("c", "11")) +
      event("ERROR", {{"kind", "Status"}, {"code", 500}, {"reason", "InternalError"}})));
  EXPECT_FALSE(r.listing());
  EXPECT_NE(r.next_request().find("resourceVersion=11"), std::string::npos);
  EXPECT_TRUE(r.objects().count("x/c"));
}

TEST(K8sWatchEvent, EveryMalformedEventHasItsReason) {
  Limits limits;
  auto error_of = [&](const std::string& line) {
    try {
      sluice::k8s::parse_watch_event(line, limits);
    } catch (const sluice::k8s::WatchFormatError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(error_of("[1,2]"), "a watch event that is not a JSON object");
  EXPECT_EQ(error_of(R"({"type":"ADDED"})"), "a watch event (ADDED) without an object");
  EXPECT_EQ(error_of(R"({"type":"ADDED","object":{"kind":"Pod"}})"),
            "a watch event (ADDED) whose object has no metadata");
  EXPECT_EQ(error_of(R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})"),
            "a watch event (ADDED) without metadata.resourceVersion");
  EXPECT_EQ(error_of(R"({"type":"RENAMED","object":{"metadata":{"resourceVersion":"1"}}})"),
            "a watch event of unknown type 'RENAMED'");
  EXPECT_EQ(error_of(R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"1"}}})"),
            "an object without metadata.name");
  limits.max_object_bytes = 10;
  EXPECT_EQ(error_of(R"({"type":"BOOKMARK"})"), "a watch event of 19 bytes (the limit is 10)");
}
