#include "k8s/api_client.h"

#include <httplib.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include "k8s/reflector.h"

namespace sluice::k8s {

void parse_server_url(std::string_view url, ApiServer& into) {
  auto bad = [&](const char* what) {
    return std::invalid_argument(std::string("the API server URL '") + std::string(url) + "' " +
                                 what);
  };
  constexpr std::string_view scheme = "https://";
  if (url.substr(0, scheme.size()) != scheme) throw bad("is not https:// (plain http is refused)");
  auto rest = url.substr(scheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") throw bad("has a path");
    rest = rest.substr(0, slash);
  }
  std::string_view host, port_text;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6 address]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) throw bad("has an unclosed '['");
    host = rest.substr(1, close - 1);
    auto after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw bad("has something after ']'");
    has_port = !after.empty();
    if (has_port) port_text = after.substr(1);
  } else {
    auto colon = rest.find(':');
    if (colon != rest.rfind(':')) throw bad("has an IPv6 address without brackets");
    host = rest.substr(0, colon);
    has_port = colon != std::string_view::npos;
    if (has_port) port_text = rest.substr(colon + 1);
  }
  if (host.empty()) throw bad("has no host");
  int port = 443;
  if (has_port) {
    port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) throw bad("has a bad port");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) throw bad("has a bad port");
  }
  into.host = std::string(host);
  into.port = port;
}

namespace {

// What failed, for the operator's log.
std::string describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "connecting timed out";
    case httplib::Error::SSLConnection:
      return "the TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the CA or client certificate";
    case httplib::Error::SSLServerVerification:
      return "the server's certificate does not verify against the cluster's CA";
    case httplib::Error::Read:
      return "the connection broke while reading";
    case httplib::Error::Write:
      return "the connection broke while writing";
    default:
      return httplib::to_string(e);
  }
}

}  // namespace

ApiClient::ApiClient(const ApiServer& server) : token_file_(server.token_file) {
  client_ = server.cert_file.empty()
                ? std::make_unique<httplib::SSLClient>(server.host, server.port)
                : std::make_unique<httplib::SSLClient>(server.host, server.port, server.cert_file,
                                                       server.key_file);
  client_->set_ca_cert_path(server.ca_file.c_str());
  client_->enable_server_certificate_verification(true);
  if (!server.token.empty()) client_->set_bearer_token_auth(server.token.c_str());
  client_->set_connection_timeout(server.connect_timeout);
  client_->set_read_timeout(server.read_timeout);
  client_->set_keep_alive(true);
}

ApiClient::~ApiClient() = default;

namespace {

struct InFlight {
  std::atomic<int>& count;
  explicit InFlight(std::atomic<int>& c) : count(c) { ++count; }
  ~InFlight() { --count; }
};

}  // namespace

void ApiClient::cancel() {
  cancelled_ = true;
  while (in_flight_ > 0) {
    client_->stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ApiClient::refresh_token() {
  if (token_file_.empty()) return;
  std::ifstream in(token_file_);
  std::string token;
  std::getline(in, token);
  // A token being rewritten can read empty: the last one stays.
  if (!token.empty()) client_->set_bearer_token_auth(token.c_str());
}

ApiClient::Answer ApiClient::get(const std::string& path, std::size_t max_bytes) {
  InFlight counted(in_flight_);
  Answer a;
  if (cancelled_) {
    a.error = "GET " + path + ": cancelled";
    return a;
  }
  refresh_token();
  int status = 0;
  bool too_large = false;
  auto result = client_->Get(
      path, httplib::Headers{{"Accept", "application/json"}},
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (a.body.size() + n > max_bytes) {
          too_large = true;
          return false;
        }
        a.body.append(data, n);
        return true;
      });
  if (too_large) {
    a.error = "an answer larger than " + std::to_string(max_bytes) + " bytes to " + path;
    a.body.clear();
    return a;
  }
  if (!result) {
    a.error = "GET " + path + ": " + describe(result.error());
    a.body.clear();
    return a;
  }
  a.status = status;
  return a;
}

int ApiClient::stream(const std::string& path,
                      const std::function<bool(std::string_view)>& on_bytes,
                      const std::atomic<bool>& stop, std::string& error) {
  InFlight counted(in_flight_);
  if (cancelled_) {
    error = "GET " + path + ": cancelled";
    return 0;
  }
  refresh_token();
  int status = 0;
  auto result = client_->Get(
      path, httplib::Headers{{"Accept", "application/json"}},
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (stop) return false;
        // Only a 200's body is a stream of events; another status's is a
        // Status, and the status says enough.
        return status != 200 || on_bytes(std::string_view(data, n));
      });
  if (!result && status == 0) error = "GET " + path + ": " + describe(result.error());
  // A stream the caller ended (or the server dropped) after a 200 is a
  // 200 that ended: the watch resumes.
  return status;
}

namespace {

// Waits up to d, in steps, so that stop ends it soon.
void pause(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

void follow(Reflector& reflector, ApiClient& client, const std::atomic<bool>& stop,
            const std::function<void()>& on_change,
            const std::function<void(const std::string&)>& on_problem) {
  constexpr std::chrono::milliseconds kFirst{250}, kMost{30000};
  auto delay = kFirst;
  while (!stop) {
    auto generation = reflector.generation();
    auto events = reflector.counters().events;
    bool well = true;
    if (reflector.listing()) {
      auto a = client.get(reflector.next_request(), reflector.limits().max_page_bytes);
      if (a.status == 0) on_problem(a.error);
      reflector.on_list_response(a.status, a.body);
      well = reflector.healthy();
    } else {
      auto started = std::chrono::steady_clock::now();
      std::string error;
      // Changes are passed on as they come: a watch lasts minutes.
      auto on_bytes = [&](std::string_view b) {
        bool keep = reflector.on_watch_bytes(b);
        if (reflector.generation() != generation) {
          generation = reflector.generation();
          on_change();
        }
        return keep;
      };
      int status = client.stream(reflector.next_request(), on_bytes, stop, error);
      if (status == 0 && !error.empty() && !stop) on_problem(error);
      reflector.on_watch_end(status);
      well = reflector.healthy() &&
             (reflector.counters().events != events ||
              std::chrono::steady_clock::now() - started > std::chrono::seconds(1));
    }
    if (reflector.generation() != generation) on_change();
    for (const auto& p : reflector.take_problems()) on_problem(p);
    if (well) {
      delay = kFirst;
      continue;
    }
    pause(delay, stop);
    delay = std::min(delay * 2, kMost);
  }
}

}  // namespace sluice::k8s
