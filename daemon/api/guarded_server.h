// cpp-httplib servers (plain and TLS) that admit connections before
// serving them: at most a number of open connections per client address
// (IPv6: per /64), so that one address cannot hold every thread of the
// pool with idle or slowly sent connections. Past the limit a connection
// gets "503" and is closed at once, before any of its request is read.
//
// cpp-httplib 0.11 has no hook at accept time; its per-connection step
// (process_and_close_socket) is a virtual it lets subclasses replace, and
// the request handling (process_request) is theirs to call. So each class
// here serves the connection itself: the keep-alive loop and a stream over
// the socket (or its TLS session), then cpp-httplib handles each request.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace httplib {
class Server;
}

namespace sluice::api {

// Decides whether a connection from address may be served now; the
// returned guard is held while it is (null: refused).
using ConnectionGate = std::function<std::shared_ptr<void>(const std::string& address)>;

std::unique_ptr<httplib::Server> make_guarded_server(ConnectionGate gate);

// Whether the client whose request this thread is serving has hung up
// (closed or reset its connection). A live stream asks it between writes:
// a client gone sends nothing more, and the server would otherwise learn
// of it only when a later write fails, holding the stream's slot till then.
bool client_hung_up();
// Binds server to host:port and listens with the kernel's largest backlog
// (false, errno set, when it cannot). cpp-httplib's library listens with
// a backlog of 5: a burst of connects past it waits for SYN-ACK
// retransmits (1 s, 3 s, 7 s) before the server even sees it, so a
// connection it would refuse at once looks admitted for seconds.
bool bind_with_full_backlog(httplib::Server& server, const std::string& host, int port);

// Throws std::runtime_error when the certificate or key cannot be used.
std::unique_ptr<httplib::Server> make_guarded_tls_server(const std::string& cert,
                                                         const std::string& key,
                                                         ConnectionGate gate);

}  // namespace sluice::api
