#include "api/server.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "api/admission.h"
#include "api/guarded_server.h"
#include "api/http_input.h"
#include "api/metrics.h"
#include "api/ui_files.h"
#include "auth/credentials.h"
#include "auth/sessions.h"
#include "auth/sign_in_limits.h"
#include "commands/catalog.h"
#include "common/log.h"
#include "flows/flow_json.h"
#include "service/requests.h"
#include "service/service.h"
#include "store/flow_log.h"
#include "store/state_store.h"

namespace sluice::api {

namespace {

using auth::hash_password, auth::verify_password, auth::token_hash, auth::random_hex,
    auth::same_secret;
using auth::SessionTable, auth::LoginLimiter, auth::TrustedDevices;
using nlohmann::json;
using service::Caller;

constexpr std::size_t kMaxBody = 17 << 20;  // a 16 MiB config plus its JSON quoting
// What is read of a body before its sender is known: a sign-in, or any
// small request (refused later if unauthenticated).
constexpr std::size_t kMaxUnauthenticatedBody = 4 << 10;
constexpr std::size_t kThreads = 64;  // every request and each live-flow stream holds one
// Live streams leave half the threads to everything else, and one
// principal cannot take all the streams.
constexpr std::size_t kMaxStreams = kThreads / 2;
constexpr std::size_t kMaxStreamsPerPrincipal = 4;
// Requests in flight from one address (IPv6: one /64), and connections
// open from it (idle or sending slowly, each holds a thread).
constexpr std::size_t kMaxRequestsPerAddress = 16;
constexpr std::size_t kMaxConnectionsPerAddress = 24;
constexpr auto kStreamKeepalive = std::chrono::seconds(5);
// How soon a live stream notices that its principal was signed out,
// removed or expired.
constexpr auto kStreamRecheck = std::chrono::seconds(2);
// How soon a live stream notices that its client hung up (a browser that
// reloaded or left the page), and gives its slot back.
constexpr auto kStreamClientCheck = std::chrono::milliseconds(250);
constexpr const char* kSessionCookie = "sluice_session";
constexpr const char* kDeviceCookie = "sluice_device";

// No inline script or style, nothing from elsewhere: the UI is files
// served here.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src "
    "'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Who made a request, once authenticated.
struct Principal {
  std::string who;
  bool may_change = false;  // sessions may, tokens may not
  std::string session_id;   // empty for tokens
  std::string csrf;
  std::string user;
  std::string token_hash;     // empty for sessions
  std::string password_hash;  // the session's, at sign-in
  // Whose live streams count together: "user NAME" or "token NAME".
  std::string principal;
};

// The request counted in by this thread's pre-routing, until its
// post-routing counts it out (see Impl::routes).
thread_local std::optional<std::string> counted_address;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void refuse(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, {{"ok", false}, {"code", status}, {"error", message}});
}

// An answer of service::handle(): 200, or its "code".
void reply_answer(httplib::Response& res, json answer) {
  int status = answer.value("ok", false) ? 200 : answer.value("code", 400);
  reply(res, status, answer);
}

// The request's JSON object body ({} when empty), or nullopt with the
// refusal already written.
std::optional<json> body_object(const httplib::Request& req, httplib::Response& res) {
  std::string error;
  auto body = api::body_object(req.body, error);
  if (!body) refuse(res, 400, error);
  return body;
}

std::string cookie(const httplib::Request& req, const std::string& name) {
  return cookie_value(req.get_header_value("Cookie"), name);
}

std::pair<std::string, int> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("[api] listen '" + listen + "' has no port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, std::atoi(listen.c_str() + colon + 1)};
}

}  // namespace

struct ApiServer::Impl {
  service::Service& service;
  std::mutex& service_lock;
  ApiOptions options;
  bool tls = false;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  SessionTable sessions;
  LoginLimiter logins;
  TrustedDevices devices;
  Admission admission{kMaxStreams, kMaxStreamsPerPrincipal, kMaxRequestsPerAddress,
                      kMaxConnectionsPerAddress};
  std::counting_semaphore<2> password_checks{2};

  Impl(service::Service& s, std::mutex& lock, ApiOptions o)
      : service(s), service_lock(lock), options(std::move(o)), sessions(options.state) {}

  store::StateStore* state() { return options.state; }

  // The principal behind a request, or nullopt.
  std::optional<Principal> authenticate(const httplib::Request& req) {
    auto auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) {
      auto* st = state();
      if (!st) return std::nullopt;
      auto hash = token_hash(auth.substr(7));
      auto name = st->token_name(hash);
      if (!name) return std::nullopt;
      return Principal{"token " + *name + " from " + req.remote_addr,
                       false,
                       {},
                       {},
                       {},
                       hash,
                       {},
                       "token " + *name};
    }
    auto id = cookie(req, kSessionCookie);
    if (id.empty()) return std::nullopt;
    auto session = sessions.use(id);
    if (!session) return std::nullopt;
    // A user removed, or given a new password, is signed out everywhere.
    auto* st = state();
    auto hash = st ? st->password_hash(session->user) : std::nullopt;
    if (!hash || *hash != session->password_hash) {
      sessions.close(id);
      return std::nullopt;
    }
    return Principal{"user " + session->user + " from " + req.remote_addr,
                     true,
                     id,
                     session->csrf,
                     session->user,
                     {},
                     session->password_hash,
                     "user " + session->user};
  }

  // Whether a principal authenticated earlier still is: its token not
  // removed; its session not signed out, expired or its password changed.
  // Does not count as use of the session.
  bool still_valid(const Principal& p) {
    auto* st = state();
    if (!st) return false;
    if (!p.token_hash.empty()) return st->token_name(p.token_hash).has_value();
    auto session = sessions.peek(p.session_id);
    auto hash = st->password_hash(p.user);
    return session && hash && *hash == p.password_hash;
  }

  // Before the body is read (pre-routing): a request from an address with
  // too many in flight is refused, and so is a body beyond a few KiB from
  // someone not signed in; only then does cpp-httplib read the body.
  httplib::Server::HandlerResponse admit(const httplib::Request& req, httplib::Response& res) {
    if (counted_address)
      admission.request_ends(*counted_address);  // a post-routing that did not come
    counted_address.reset();
    if (!admission.request_begins(req.remote_addr)) {
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      refuse(res, 429, "too many requests in flight from " + address_group(req.remote_addr));
      return httplib::Server::HandlerResponse::Handled;
    }
    counted_address = req.remote_addr;
    if (req.method != "POST" && req.method != "PUT" && req.method != "PATCH")
      return httplib::Server::HandlerResponse::Unhandled;
    bool chunked = req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
    std::size_t length = 0;
    auto text = req.get_header_value("Content-Length");
    std::from_chars(text.data(), text.data() + text.size(), length);
    if (!chunked && length <= kMaxUnauthenticatedBody)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.path == "/api/v1/login") {
      res.set_header("Connection", "close");
      refuse(res, 413,
             "a sign-in is at most " + std::to_string(kMaxUnauthenticatedBody) + " bytes");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (authenticate(req)) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Connection", "close");
    refuse(
        res, 401,
        "sign in (POST /api/v1/login) or send 'Authorization: Bearer TOKEN' before sending a body");
    return httplib::Server::HandlerResponse::Handled;
  }

  enum class Access { Read, Change };

  // Runs handler for an authenticated request; a change also needs a
  // session and its CSRF token (header X-CSRF-Token).
  template <typename Handler>
  httplib::Server::Handler guarded(Access access, Handler handler) {
    return [this, access, handler](const httplib::Request& req, httplib::Response& res) {
      auto who = authenticate(req);
      if (!who)
        return refuse(res, 401,
                      "sign in (POST /api/v1/login) or send 'Authorization: Bearer TOKEN'");
      if (access == Access::Change) {
        if (!who->may_change)
          return refuse(res, 403, "API tokens may only read; changes need a signed-in user");
        if (!same_secret(req.get_header_value("X-CSRF-Token"), who->csrf))
          return refuse(res, 403, "missing or wrong X-CSRF-Token (GET /api/v1/session gives it)");
      }
      handler(req, res, *who);
    };
  }

  // A request answered by service::handle() under the service lock.
  void serve(httplib::Response& res, const json& request, const Principal& who) {
    json answer;
    {
      std::lock_guard lock(service_lock);
      answer = service::handle(service, request, Caller{who.who, who.may_change, false});
    }
    reply_answer(res, std::move(answer));
  }

  // The query string as request fields, as the command declares them;
  // false (refused) for a parameter it does not know or a bad value.
  bool query_fields(const httplib::Request& req, httplib::Response& res, const commands::Command& c,
                    json& request) {
    using Kind = commands::QueryParam::Kind;
    for (const auto& p : c.query)
      if (p.in_filter) request["filter"] = json::object();
    for (const auto& [key, text] : req.params) {
      auto p = std::find_if(c.query.begin(), c.query.end(),
                            [&](const auto& q) { return q.name == key; });
      if (p == c.query.end()) {
        refuse(res, 400, "unknown parameter '" + key + "'");
        return false;
      }
      json& field = p->in_filter ? request["filter"][key] : request[key];
      if (p->kind == Kind::String) {
        field = text;
      } else if (p->kind == Kind::Boolean) {
        if (text != "true" && text != "false") {
          refuse(res, 400, key + ": true or false");
          return false;
        }
        field = text == "true";
      } else {
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
          refuse(res, 400, key + ": '" + text + "' is not a number");
          return false;
        }
        field = v;
      }
    }
    return true;
  }

  // A command of the catalog over HTTP: GET with its query parameters (and
  // an optional last path segment "id"), POST with the body's fields.
  void command_route(const commands::Command& c) {
    Access access = c.access == commands::Access::Read ? Access::Read : Access::Change;
    std::string command(c.name);
    if (c.http_method == "POST") {
      http->Post(std::string(c.http_path),
                 guarded(access, [this, command](const httplib::Request& req,
                                                 httplib::Response& res, const Principal& who) {
                   auto body = body_object(req, res);
                   if (!body) return;
                   json request = *body;
                   request["command"] = command;
                   serve(res, request, who);
                 }));
      return;
    }
    auto get = [this, command, &c](const httplib::Request& req, httplib::Response& res,
                                   const Principal& who) {
      json request = {{"command", command}};
      if (!query_fields(req, res, c, request)) return;
      if (req.matches.size() > 1) request["id"] = std::stoull(req.matches[1].str());
      serve(res, request, who);
    };
    std::string path(c.http_path);
    constexpr std::string_view kOptionalId = "[/{id}]";
    if (path.ends_with(kOptionalId)) {
      path.resize(path.size() - kOptionalId.size());
      http->Get(path + R"(/(\d{1,18}))", guarded(access, get));
    }
    http->Get(path, guarded(access, get));
  }

  // Limits, admission, security headers and error answers for every
  // request.
  void hooks() {
    http->set_payload_max_length(kMaxBody);
    http->set_read_timeout(5);
    http->set_write_timeout(10);
    http->set_keep_alive_timeout(5);
    http->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
    http->set_pre_routing_handler(
        [this](const httplib::Request& req, httplib::Response& res) { return admit(req, res); });
    http->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (counted_address) admission.request_ends(*counted_address);
      counted_address.reset();
      res.set_header("Content-Security-Policy", kContentSecurityPolicy);
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Referrer-Policy", "no-referrer");
      if (req.path.rfind("/api/", 0) == 0 || req.path == "/metrics")
        res.set_header("Cache-Control", "no-store");
      if (tls) res.set_header("Strict-Transport-Security", "max-age=31536000");
    });
    http->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "internal error";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          }
          log(Priority::Error, "API request failed: " + what);
          refuse(res, 500, "internal error: " + what);
        });
    http->set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      const char* message = res.status == 404   ? "no such resource"
                            : res.status == 413 ? "the request body is too large"
                            : res.status == 400 ? "malformed request"
                                                : "request refused";
      refuse(res, res.status, message);
    });
  }

  void routes() {
    hooks();
    http->Post("/api/v1/login",
               [this](const httplib::Request& req, httplib::Response& res) { login(req, res); });
    http->Post("/api/v1/logout",
               guarded(Access::Change, [this](const httplib::Request&, httplib::Response& res,
                                              const Principal& who) {
                 sessions.close(who.session_id);
                 if (auto* st = state()) st->audit(who.who, "sign out", "");
                 res.set_header("Set-Cookie",
                                std::string(kSessionCookie) +
                                    "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
                 reply(res, 200, {{"ok", true}});
               }));
    http->Get("/api/v1/session",
              guarded(Access::Read,
                      [](const httplib::Request&, httplib::Response& res, const Principal& who) {
                        json out = {{"ok", true}, {"who", who.who}, {"may_change", who.may_change}};
                        if (!who.user.empty()) {
                          out["user"] = who.user;
                          out["csrf"] = who.csrf;
                        }
                        reply(res, 200, out);
                      }));

    for (const auto& c : commands::catalog())
      if (!c.http_method.empty()) command_route(c);
    http->Get("/api/v1/flows/stream",
              guarded(Access::Read, [this](const httplib::Request& req, httplib::Response& res,
                                           const Principal& who) { stream_flows(req, res, who); }));
    http->Get("/metrics", guarded(Access::Read, [this](const httplib::Request&,
                                                       httplib::Response& res, const Principal&) {
                std::string text;
                {
                  std::lock_guard lock(service_lock);
                  text = metrics_text(service);
                }
                res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
              }));

    // Anything else under /api is unknown; the rest may be a UI file.
    http->Get(R"(/api/.*)", [](const httplib::Request&, httplib::Response& res) {
      refuse(res, 404, "no such API resource (see docs/api.md)");
    });
    http->Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      auto file = read_ui_file(options.webui_dir, req.path);
      if (file.status != 200) return refuse(res, file.status, file.error);
      res.set_content(file.content, file.type);
    });
  }

  void login(const httplib::Request& req, httplib::Response& res) {
    auto address = req.remote_addr;
    auto body = body_object(req, res);
    if (!body) return;
    if (!body->contains("user") || !(*body)["user"].is_string() || !body->contains("password") ||
        !(*body)["password"].is_string())
      return refuse(res, 400, "sign in with {\"user\": \"...\", \"password\": \"...\"}");
    auto user = (*body)["user"].get<std::string>();
    auto password = (*body)["password"].get<std::string>();
    auto* st = state();
    if (!st) return refuse(res, 503, "the user database is unavailable: " + options.state_error);
    // A browser that signed in as this user before is limited on its own;
    // anyone else by address (and all of them together).
    auto device = cookie(req, kDeviceCookie);
    bool trusted = devices.trusted(device, user);
    std::string source = trusted ? "device " + token_hash(device) : address_group(address);
    // argon2id takes 64 MiB and tens of milliseconds per check: a few at
    // a time, whatever the number of requests; the rest are told to come
    // back rather than queue behind an attacker's.
    if (!password_checks.try_acquire()) {
      res.set_header("Retry-After", "1");
      return refuse(res, 503, "sign-ins are busy; try again in a second");
    }
    struct Release {
      std::counting_semaphore<2>& s;
      ~Release() { s.release(); }
    } turn{password_checks};
    if (auto wait = logins.begin(source, trusted)) {
      res.set_header("Retry-After", std::to_string(wait));
      return refuse(res, 429,
                    "too many sign-ins tried from " +
                        (trusted ? std::string("this browser") : source) +
                        (trusted ? "" : " (or from everywhere together)") + "; try again in " +
                        std::to_string(wait) + " s");
    }
    auto hash = user.size() <= 64 ? st->password_hash(user) : std::nullopt;
    // An unknown user costs the same as a known one, so timing does not
    // tell which names exist.
    static const std::string unknown_user_hash = hash_password(random_hex());
    bool good = verify_password(hash ? *hash : unknown_user_hash, password.substr(0, 1024)) &&
                hash && password.size() <= 1024;
    if (!good) {
      st->audit("unknown from " + address, "sign-in refused", "user '" + user.substr(0, 64) + "'");
      return refuse(res, 401, "wrong user or password");
    }
    logins.succeeded(source);
    auto id = sessions.open(user, *hash);
    auto session = sessions.use(id);
    st->audit("user " + user + " from " + address, "sign in", "");
    std::string secure = tls ? "; Secure" : "";
    res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + id +
                                     "; Path=/; HttpOnly; SameSite=Strict" + secure);
    if (!trusted)
      res.set_header("Set-Cookie",
                     std::string(kDeviceCookie) + "=" + devices.issue(user) +
                         "; Path=/api/v1/login; HttpOnly; SameSite=Strict; Max-Age=" +
                         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                            TrustedDevices::kLifetime)
                                            .count()) +
                         secure);
    reply(res, 200, {{"ok", true}, {"user", user}, {"csrf", session->csrf}});
  }

  // Server-sent events: each new matching flow as `id: N` + `data: JSON`.
  // A client reconnecting with Last-Event-ID continues where it was.
  // Streams are capped (Admission) and end within kStreamRecheck of their
  // principal's sign-out, removal or expiry.
  void stream_flows(const httplib::Request& req, httplib::Response& res, const Principal& who) {
    // The same parameters as GET /api/v1/flows (only the filter is used).
    json request = json::object();
    if (!query_fields(req, res, *commands::find("flows"), request)) return;
    const json& terms = request["filter"];
    flows::FlowFilter filter;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    if (auto err = flows::filter_from_json(terms, filter, now); !err.empty())
      return refuse(res, 400, err);
    auto log = service.flows();
    std::uint64_t after = log->ring().last_id();
    auto last = req.get_header_value("Last-Event-ID");
    if (!last.empty()) {
      std::uint64_t id = 0;
      auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), id);
      if (ec == std::errc() && end == last.data() + last.size() && id <= after) after = id;
    }
    // The slot is given back when the provider is destroyed: after the
    // stream, or when the connection ends before it began.
    auto slot = admission.stream(who.principal);
    if (!slot) {
      res.set_header("Retry-After", "5");
      return refuse(res, 503,
                    "too many live streams (" + std::to_string(kMaxStreamsPerPrincipal) +
                        " per user or token, " + std::to_string(kMaxStreams) +
                        " in all); close one first");
    }
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, who, slot, log, filter, after](std::size_t, httplib::DataSink& sink) mutable {
          // Say hello at once, so the client knows the stream is up.
          std::string hello = ": sluice flows\n\n";
          if (!sink.write(hello.data(), hello.size())) return false;
          auto quiet_since = std::chrono::steady_clock::now();
          auto checked_principal = quiet_since;
          while (sink.is_writable() && !client_hung_up()) {
            auto newest = log->ring().wait_after(after, kStreamClientCheck);
            if (log->ring().closed()) break;
            // The principal is looked up in the database: not at every turn.
            if (std::chrono::steady_clock::now() - checked_principal >= kStreamRecheck) {
              if (!still_valid(who)) break;
              checked_principal = std::chrono::steady_clock::now();
            }
            std::string chunk;
            if (newest <= after) {
              if (std::chrono::steady_clock::now() - quiet_since < kStreamKeepalive) continue;
              chunk = ": keepalive\n\n";
              quiet_since = std::chrono::steady_clock::now();
            } else {
              for (const auto& r : log->query(filter, after, 1000, false)) {
                chunk +=
                    "id: " + std::to_string(r.id) + "\ndata: " + dump(flows::to_json(r)) + "\n\n";
                after = r.id;
              }
              if (chunk.empty()) after = newest;  // nothing matched
            }
            if (!chunk.empty() && !sink.write(chunk.data(), chunk.size())) break;
            if (!chunk.empty()) quiet_since = std::chrono::steady_clock::now();
          }
          sink.done();
          return false;
        });
  }
};

ApiServer::ApiServer(service::Service& service, std::mutex& service_lock, ApiOptions options)
    : impl_(std::make_unique<Impl>(service, service_lock, std::move(options))) {
  auto& o = impl_->options;
  ConnectionGate gate = [impl = impl_.get()](const std::string& address) {
    return impl->admission.connection(address);
  };
  if (!o.tls_cert.empty()) {
    impl_->http = make_guarded_tls_server(o.tls_cert, o.tls_key, std::move(gate));
    impl_->tls = true;
  } else {
    impl_->http = make_guarded_server(std::move(gate));
  }
  impl_->routes();
  auto [host, port] = split_listen(o.listen);
  if (!bind_with_full_backlog(*impl_->http, host, port))
    throw std::runtime_error("cannot listen on " + o.listen + ": " + std::strerror(errno));
  impl_->thread = std::thread([this] { impl_->http->listen_after_bind(); });
}

ApiServer::~ApiServer() {
  impl_->service.flows()->close();  // ends the live streams
  impl_->http->stop();
  impl_->thread.join();
}

}  // namespace sluice::api
