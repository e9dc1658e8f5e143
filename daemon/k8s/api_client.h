// HTTPS to the Kubernetes API server: its certificate checked against the
// cluster's CA, sluiced known by a bearer token (a service account) or a
// client certificate. Lists are read whole, bounded; watches are streamed
// to the caller as the bytes arrive.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace httplib {
class SSLClient;
}

namespace sluice::k8s {

class Reflector;

struct ApiServer {
  std::string host;
  int port = 6443;
  std::string ca_file;              // the cluster's CA: the server must present a certificate of it
  std::string token;                // bearer token, or ""
  std::string token_file;           // read again before each request (rotated tokens), or ""
  std::string cert_file, key_file;  // client certificate, or ""
  std::chrono::seconds connect_timeout{5};
  // A watch is silent at most until its timeoutSeconds (300), bookmarks
  // aside: past this, the connection is taken for dead and resumed.
  std::chrono::seconds read_timeout{330};
};

// "https://host[:port]" (default port 443) into host and port. Throws
// std::invalid_argument for anything else (plain http is refused).
void parse_server_url(std::string_view url, ApiServer& into);

class ApiClient {
 public:
  explicit ApiClient(const ApiServer& server);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  struct Answer {
    int status = 0;     // 0: no answer (error says why)
    std::string body;   // at most the max_bytes asked for
    std::string error;  // what failed, when status is 0
  };
  // GET path; a body larger than max_bytes is not read (status 0).
  Answer get(const std::string& path, std::size_t max_bytes);
  // GET path, the body of a 200 handed to on_bytes chunk by chunk until it
  // returns false, stop is set (checked as data comes) or the response
  // ends. Returns the status (0: no answer; error says why).
  int stream(const std::string& path, const std::function<bool(std::string_view)>& on_bytes,
             const std::atomic<bool>& stop, std::string& error);
  // Ends the request in progress from another thread (stream() returns),
  // and every later one at once: for stopping, since a watch may be
  // silent for minutes. Returns once no request is in progress.
  void cancel();

 private:
  void refresh_token();

  std::string token_file_;
  std::unique_ptr<httplib::SSLClient> client_;
  // A cancel() that came while a request was only about to start (no
  // socket yet to shut) must still end it: requests count themselves in
  // flight, then look at cancelled_; cancel() sets it, then stops the
  // client until none is in flight.
  std::atomic<bool> cancelled_{false};
  std::atomic<int> in_flight_{0};
};

// Keeps reflector current over client until stop is set: lists, watches,
// resumes, relists. After a failure it waits before the next request
// (250 ms, doubling up to 30 s; a request that goes well resets it), also
// after a watch that ended at once without an event (a server must not
// make it spin). on_change after every change of the objects, on_problem
// with each problem (for the log).
void follow(Reflector& reflector, ApiClient& client, const std::atomic<bool>& stop,
            const std::function<void()>& on_change,
            const std::function<void(const std::string&)>& on_problem);

}  // namespace sluice::k8s
