// The REST API (/api/v1, JSON), live flows as server-sent events,
// /metrics, and the web UI's static files, over HTTP(S) on [api] listen.
// Every request is authenticated: a session cookie (browsers; state
// changes also need the session's CSRF token) or a read-only bearer token
// (scripts). docs/api.md and docs/openapi.json describe it.
#pragma once

#include <memory>
#include <mutex>
#include <string>

namespace sluice::service {
class Service;
}

namespace sluice::store {
class StateStore;
}

namespace sluice::api {

struct ApiOptions {
  // Users, tokens and sessions (and the audit of sign-ins); nullptr when
  // the database is unavailable, state_error says why.
  store::StateStore* state = nullptr;
  std::string state_error;
  std::string listen;    // "127.0.0.1:9090", "[::1]:9090"
  std::string tls_cert;  // both set: HTTPS
  std::string tls_key;
  std::string webui_dir;  // static files served at /
};

class ApiServer {
 public:
  // Binds and starts serving on a thread of its own. Throws
  // std::runtime_error (saying why) when it cannot.
  ApiServer(service::Service& service, std::mutex& service_lock, ApiOptions options);
  // Ends streams, stops listening, joins the threads.
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::api
