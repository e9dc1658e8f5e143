// The Kubernetes client over real HTTPS (daemon/k8s/api_client.cpp): a TLS
// server on loopback in this process plays the API server with responses
// in the documented formats (lists with resourceVersion, watch streams,
// 410 Gone, dropped streams, bad and oversized events), checks the bearer
// token, and records what the client asked for.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "k8s/api_client.h"
#include "k8s/kubeconfig.h"
#include "k8s/reflector.h"

using nlohmann::json;
namespace k8s = sluice::k8s;
namespace fs = std::filesystem;

namespace {

json pod(const std::string& name, const std::string& version, const std::string& app = "web") {
  return {{"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "x"},
            {"resourceVersion", version},
            {"labels", {{"app", app}}}}}};
}

std::string list_of(const json& items, const std::string& version) {
  return json{{"kind", "PodList"}, {"metadata", {{"resourceVersion", version}}}, {"items", items}}
      .dump();
}

std::string line(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

// A CA, a server certificate of it for 127.0.0.1, and a second CA.
struct Certificates {
  fs::path dir;
  Certificates() {
    char tmpl[] = "/tmp/sluice-k8s-XXXXXX";
    dir = mkdtemp(tmpl);
    auto run = [&](const std::string& cmd) {
      if (std::system(("cd " + dir.string() + " && " + cmd + " >/dev/null 2>&1").c_str()) != 0)
        throw std::runtime_error("openssl failed: " + cmd);
    };
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    run("openssl req -x509 " + ec + " -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca");
    run("openssl req -x509 " + ec + " -keyout other.key -out other.crt -days 2 -subj /CN=other");
    run("openssl req " + ec + " -keyout server.key -out server.csr -subj /CN=127.0.0.1");
    run("printf 'subjectAltName=IP:127.0.0.1\\n' > ext && openssl x509 -req -in server.csr -CA "
        "ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext");
  }
  ~Certificates() { fs::remove_all(dir); }
  std::string at(const char* name) const { return (dir / name).string(); }
};

// One watch response: lines to send, then end the stream or hold it open
// (until the server stops); or a refusal with a status.
struct WatchScript {
  std::vector<std::string> lines;
  bool end = false;
  int status = 200;
};

class FakeApiServer {
 public:
  explicit FakeApiServer(const Certificates& c)
      : server_(c.at("server.crt").c_str(), c.at("server.key").c_str()) {
    server_.Get("/api/v1/pods", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(mutex_);
      if (req.get_header_value("Authorization") != "Bearer t0ken") {
        res.status = 401;
        res.set_content(R"({"kind":"Status","code":401})", "application/json");
        return;
      }
      if (!req.has_param("watch")) {
        ++lists_;
        res.set_content(lists_ <= lists.size() ? lists[lists_ - 1] : lists.back(),
                        "application/json");
        return;
      }
      watch_paths.push_back(req.target);
      WatchScript script;
      if (!watches.empty()) {
        script = watches.front();
        watches.pop_front();
      }
      if (script.status != 200) {
        res.status = script.status;
        res.set_content(R"({"kind":"Status","code":)" + std::to_string(script.status) + "}",
                        "application/json");
        return;
      }
      res.set_chunked_content_provider(
          "application/json",
          [this, script, sent = false](std::size_t, httplib::DataSink& sink) mutable {
            if (!sent) {
              for (const auto& l : script.lines) sink.write(l.data(), l.size());
              sent = true;
            }
            if (script.end) {
              sink.done();
              return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            return !stopping_;
          });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeApiServer() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::size_t list_count() {
    std::lock_guard lock(mutex_);
    return lists_;
  }

  std::mutex mutex_;  // guards the scripts below while the client runs
  std::vector<std::string> lists;
  std::deque<WatchScript> watches;
  std::vector<std::string> watch_paths;

 private:
  httplib::SSLServer server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::size_t lists_ = 0;
  int port_ = 0;
};

// follow() on its own thread; the keys and problems it reported.
class Follower {
 public:
  Follower(const k8s::ApiServer& api, k8s::Limits limits = {})
      : client_(api), reflector_("/api/v1/pods", limits) {
    thread_ = std::thread([this] {
      k8s::follow(
          reflector_, client_, stop_,
          [this] {
            std::lock_guard lock(mutex_);
            seen_.clear();
            for (const auto& [key, object] : reflector_.objects())
              seen_[key] = (*object)["metadata"]["labels"]["app"];
            cv_.notify_all();
          },
          [this](const std::string& p) {
            std::lock_guard lock(mutex_);
            problems_.push_back(p);
            cv_.notify_all();
          });
    });
  }
  ~Follower() { stop(); }
  void stop() {
    stop_ = true;
    client_.cancel();
    if (thread_.joinable()) thread_.join();
  }
  // Waits (up to 10 s) until the objects are exactly want (key -> app).
  ::testing::AssertionResult objects_become(const std::map<std::string, std::string>& want) {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, std::chrono::seconds(10), [&] { return seen_ == want; }))
      return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure() << "objects:";
    for (const auto& [key, app] : seen_) failure << " " << key << "=" << app;
    failure << "; problems:";
    for (const auto& p : problems_) failure << " [" << p << "]";
    return failure;
  }
  bool problem_mentions(const std::string& text) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      for (const auto& p : problems_)
        if (p.find(text) != std::string::npos) return true;
      return false;
    });
  }

 private:
  k8s::ApiClient client_;
  k8s::Reflector reflector_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, std::string> seen_;
  std::vector<std::string> problems_;
  std::thread thread_;
};

class K8sClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new Certificates(); }
  static void TearDownTestSuite() { delete certs_; }
  k8s::ApiServer api(const FakeApiServer& s, const char* ca = "ca.crt") {
    k8s::ApiServer a;
    k8s::parse_server_url("https://127.0.0.1:" + std::to_string(s.port()), a);
    a.ca_file = certs_->at(ca);
    a.token = "t0ken";
    return a;
  }
  static Certificates* certs_;
};
Certificates* K8sClient::certs_ = nullptr;

}  // namespace

TEST_F(K8sClient, ListsThenFollowsTheWatch) {
  FakeApiServer s(*certs_);
  s.lists = {list_of(json::array({pod("a", "5"), pod("b", "6")}), "10")};
  s.watches = {{{line("ADDED", pod("c", "11")), line("MODIFIED", pod("a", "12", "db"))}}};
  Follower f(api(s));
  EXPECT_TRUE(f.objects_become({{"x/a", "db"}, {"x/b", "web"}, {"x/c", "web"}}));
  f.stop();
  std::lock_guard lock(s.mutex_);
  ASSERT_FALSE(s.watch_paths.empty());
  EXPECT_EQ(s.watch_paths[0],
            "/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=10&timeoutSeconds=300");
}

// Stopping races the next request: a cancel() that came before the
// request had a socket to shut must still end it, or a silent watch holds
// the stop up for the whole read timeout (minutes).
TEST_F(K8sClient, ACancelBeforeARequestStartsEndsItToo) {
  FakeApiServer s(*certs_);
  s.watches = {{{}}};  // held open, silent
  k8s::ApiClient client(api(s));
  client.cancel();
  std::atomic<bool> stop{false};
  std::string error;
  EXPECT_EQ(client.stream(
                "/api/v1/pods?watch=1", [](std::string_view) { return true; }, stop, error),
            0);
  EXPECT_NE(error.find("cancelled"), std::string::npos) << error;
  EXPECT_EQ(client.get("/api/v1/pods", 1024).status, 0);
  std::lock_guard lock(s.mutex_);
  EXPECT_TRUE(s.watch_paths.empty()) << "no request reached the server";
}

TEST_F(K8sClient, ResumesFromTheLastVersionAfterTheServerDropsTheStream) {
  FakeApiServer s(*certs_);
  s.lists = {list_of(json::array({pod("a", "5")}), "10")};
  s.watches = {{{line("ADDED", pod("b", "11"))}, true}, {{line("DELETED", pod("a", "12"))}}};
  Follower f(api(s));
  EXPECT_TRUE(f.objects_become({{"x/b", "web"}}));
  f.stop();
  EXPECT_EQ(s.list_count(), 1u) << "a dropped stream resumes; it does not list again";
  std::lock_guard lock(s.mutex_);
  ASSERT_GE(s.watch_paths.size(), 2u);
  EXPECT_NE(s.watch_paths[1].find("resourceVersion=11"), std::string::npos) << s.watch_paths[1];
}

TEST_F(K8sClient, GoneListsAgainWhetherAsAnEventOrAsTheWatchsStatus) {
  FakeApiServer s(*certs_);
  s.lists = {list_of(json::array({pod("a", "5")}), "10"),
             list_of(json::array({pod("d", "20")}), "20"),
             list_of(json::array({pod("e", "30")}), "30")};
  s.watches = {{{line("ERROR", {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}})}},
               {{}, false, 410},
               {}};
  Follower f(api(s));
  EXPECT_TRUE(f.objects_become({{"x/e", "web"}}));
  f.stop();
  EXPECT_EQ(s.list_count(), 3u);
}

TEST_F(K8sClient, BadAndOversizedEventsAreRejectedAndTheStateRecovered) {
  FakeApiServer s(*certs_);
  k8s::Limits limits;
  limits.max_object_bytes = 2048;
  s.lists = {list_of(json::array({pod("a", "5")}), "10"),
             list_of(json::array({pod("a", "13", "db")}), "13"),
             list_of(json::array({pod("a", "13", "db"), pod("b", "15")}), "15")};
  s.watches = {{{line("ADDED", pod("b", "11")), "{\"type\":\"MODIFIED\",\"object\":{\"meta\n"}},
               {{line("ADDED", pod("big", "14", std::string(4000, 'x')))}},
               {}};
  Follower f(api(s), limits);
  EXPECT_TRUE(f.objects_become({{"x/a", "db"}, {"x/b", "web"}}));
  EXPECT_TRUE(f.problem_mentions("not a JSON object"));
  EXPECT_TRUE(f.problem_mentions("longer than 2048 bytes"));
  f.stop();
  EXPECT_EQ(s.list_count(), 3u);
}

TEST_F(K8sClient, AServerOfAnotherCaOrAWrongTokenGetsNothing) {
  FakeApiServer s(*certs_);
  s.lists = {list_of(json::array({pod("a", "5")}), "10")};
  {
    Follower f(api(s, "other.crt"));
    EXPECT_TRUE(f.problem_mentions("does not verify against the cluster's CA"));
  }
  EXPECT_EQ(s.list_count(), 0u);
  auto wrong = api(s);
  wrong.token = "guess";
  Follower f(wrong);
  EXPECT_TRUE(f.problem_mentions("list answered 401"));
}

TEST(K8sServerUrl, HttpsOnlyWithHostAndPort) {
  k8s::ApiServer a;
  k8s::parse_server_url("https://10.43.0.1:6443", a);
  EXPECT_EQ(a.host, "10.43.0.1");
  EXPECT_EQ(a.port, 6443);
  k8s::parse_server_url("https://kubernetes.default.svc/", a);
  EXPECT_EQ(a.host, "kubernetes.default.svc");
  EXPECT_EQ(a.port, 443);
  k8s::parse_server_url("https://[fd00::1]:6443", a);
  EXPECT_EQ(a.host, "fd00::1");
  EXPECT_EQ(a.port, 6443);
  for (const char* bad : {"http://10.0.0.1:6443", "https://", "https://h:0", "https://h:70000",
                          "https://h:x", "https://h:6443/api", "https://fd00::1", "https://[::1"})
    EXPECT_THROW(k8s::parse_server_url(bad, a), std::invalid_argument) << bad;
}

// The way k3s writes its kubeconfig (the CA inline) with a token file, as
// a service account's would be: the token is read again for each request,
// so a rotated one is picked up without a restart.
TEST_F(K8sClient, AKubeconfigWithInlineCaAndARotatedTokenFile) {
  FakeApiServer s(*certs_);
  s.lists = {list_of(json::array({pod("a", "5")}), "10")};
  auto dir = certs_->dir / "kubeconfig";
  fs::create_directories(dir);
  ASSERT_EQ(std::system(("openssl base64 -A -in " + certs_->at("ca.crt") + " > " +
                         (dir / "ca.b64").string())
                            .c_str()),
            0);
  std::ifstream b64(dir / "ca.b64");
  std::string ca_data((std::istreambuf_iterator<char>(b64)), {});
  std::ofstream(dir / "token") << "guess\n";
  std::ofstream(dir / "config") << "apiVersion: v1\nkind: Config\n"
                                << "clusters:\n- name: lab\n  cluster:\n"
                                << "    server: https://127.0.0.1:" << s.port() << "\n"
                                << "    certificate-authority-data: " << ca_data << "\n"
                                << "users:\n- name: sa\n  user:\n    tokenFile: token\n"
                                << "contexts:\n- name: lab\n  context: {cluster: lab, user: sa}\n"
                                << "current-context: lab\n";
  auto server = k8s::read_kubeconfig((dir / "config").string(), "", (dir / "data").string());
  EXPECT_EQ(server.token_file, (dir / "token").string());
  EXPECT_EQ(fs::status(server.ca_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  Follower f(server);
  EXPECT_TRUE(f.problem_mentions("list answered 401"));
  std::ofstream(dir / "token.new") << "t0ken\n";
  fs::rename(dir / "token.new", dir / "token");
  EXPECT_TRUE(f.objects_become({{"x/a", "web"}}));
}
