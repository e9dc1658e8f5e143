#include "service/proxy_supervisor.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/log.h"
#include "datapath/datapath.h"
#include "net/proxy_routing.h"

namespace sluice::service {

namespace {

// A transparent listener on loopback (its address is never used: the
// datapath assigns flows to it directly). TCP_NODELAY here is inherited by
// every connection it accepts: the proxy writes whole answers and should
// not wait for an ACK before the next, and saves a call per connection.
int make_listener(config::Family family) {
  bool v6 = family == config::Family::V6;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "proxy listener");
  int one = 1;
  bool ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
  ok &= setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0;
  // Accepted once the client's first bytes are there (HTTP and TLS clients
  // speak first): the proxy reads the request head right after accepting,
  // without waiting a round of epoll, and a connection that never sends
  // anything never takes a descriptor in the proxy.
  int defer_seconds = 10;
  ok &= setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof defer_seconds) == 0;
  if (v6) {
    ok &= setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one) == 0;
    ok &= setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0;
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    ok &= bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  } else {
    ok &= setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) == 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok &= bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ok &= listen(fd, 4096) == 0;
  if (!ok) {
    int err = errno;
    close(fd);
    throw std::system_error(err, std::generic_category(), "proxy listener");
  }
  return fd;
}

struct Account {
  uid_t uid;
  gid_t gid;
  std::string name;
};

// The configured user; the default one falls back to nobody when it does
// not exist (a build run before the package created it).
std::optional<Account> account_of(const std::string& user) {
  for (const auto& name : {user, std::string("nobody")}) {
    passwd pw{}, *found = nullptr;
    char buf[4096];
    if (getpwnam_r(name.c_str(), &pw, buf, sizeof buf, &found) == 0 && found && pw.pw_uid != 0)
      return Account{pw.pw_uid, pw.pw_gid, name};
    if (user != config::ProxySettings{}.user) break;
  }
  return std::nullopt;
}

// fork + exec of the proxy as uid/gid, with control as its fd 3. The
// binary is opened before the uid changes and executed by descriptor: its
// directory need not be open to the proxy's user (a build under /root).
// Only async-signal-safe calls between fork and exec.
pid_t spawn(const std::string& binary, const Account& who, int control, unsigned workers) {
  std::string workers_arg = std::to_string(workers);  // formatted before fork
  int program = open(binary.c_str(), O_RDONLY | O_CLOEXEC);
  if (program < 0) return -1;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) {
    close(program);
    return pid;
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dup2(control, 3) < 0 || dup2(program, 4) < 0) _exit(126);
  fcntl(4, F_SETFD, FD_CLOEXEC);
  close_range(5, ~0u, 0);
  if (setgroups(0, nullptr) != 0 || setresgid(who.gid, who.gid, who.gid) != 0 ||
      setresuid(who.uid, who.uid, who.uid) != 0)
    _exit(126);
  // Set after the uid change, which clears it; the proxy dies with sluiced.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  char* const argv[] = {const_cast<char*>("sluice-proxy"),
                        const_cast<char*>("--control-fd"),
                        const_cast<char*>("3"),
                        const_cast<char*>("--workers"),
                        workers_arg.data(),
                        nullptr};
  char* const envp[] = {nullptr};
  fexecve(4, argv, envp);
  _exit(127);
}

}  // namespace

ProxySupervisor::ProxySupervisor(std::string binary, datapath::Datapath& datapath,
                                 OnReport on_report)
    : binary_(std::move(binary)), datapath_(datapath), on_report_(std::move(on_report)) {}

ProxySupervisor::~ProxySupervisor() {
  stop();
  if (routing_ && !keep_routing_) net::remove_proxy_routing();
}

void ProxySupervisor::configure(const config::Config& installed) {
  proxy::ProxyConfig next;
  next.limits = installed.proxy;
  next.record_allowed = installed.flows.events == config::FlowEvents::All;
  for (const auto& r : installed.rules)
    if (r.l7) next.rules.push_back({r.proxy_slot, r.name, r.audit, *r.l7});
  config_ = std::move(next);
  status_.wanted = !config_.rules.empty();
  if (!status_.wanted) {
    stop();
    return;
  }
  if (!routing_) {
    if (auto problems = net::install_proxy_routing(); !problems.empty())
      log(Priority::Error, "L7 proxy routing: " + problems + "; steered flows may be dropped");
    routing_ = true;
    int netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    try {
      datapath_.attach_proxy_lookup(netns);
    } catch (const std::exception& e) {
      log(Priority::Error, std::string("L7 proxy: ") + e.what());
    }
    close(netns);
  }
  if (control_ < 0) {
    start();  // a new config is worth a try at once, back-off or not
    return;
  }
  std::set<std::uint16_t> fresh;
  for (const auto& r : config_.rules)
    if (!handed_.count(r.slot)) fresh.insert(r.slot);
  for (auto slot : handed_) {
    bool kept = false;
    for (const auto& r : config_.rules) kept |= r.slot == slot;
    if (kept) continue;
    datapath_.remove_proxy_listener(slot, config::Family::V4);
    datapath_.remove_proxy_listener(slot, config::Family::V6);
  }
  send(fresh);
}

// Listeners for new_slots into the datapath and, with the rules, to the
// proxy; sluiced keeps no copy of them.
void ProxySupervisor::send(const std::set<std::uint16_t>& new_slots) {
  std::vector<int> fds;
  config_.listeners.clear();
  try {
    for (auto slot : new_slots) {
      for (auto family : {config::Family::V4, config::Family::V6}) {
        int fd = make_listener(family);
        fds.push_back(fd);
        config_.listeners.push_back({slot, family == config::Family::V4 ? 4 : 6});
        datapath_.set_proxy_listener(slot, family, fd);
      }
    }
    bool sent = proxy::send_message(control_, proxy::encode(config_), fds);
    if (!sent) log(Priority::Warning, "L7 proxy: it went away while being configured");
  } catch (const std::exception& e) {
    log(Priority::Error, std::string("L7 proxy: configuring it: ") + e.what());
  }
  for (int fd : fds) close(fd);
  handed_.clear();
  for (const auto& r : config_.rules) handed_.insert(r.slot);
}

void ProxySupervisor::start() {
  auto who = account_of(config_.limits.user);
  if (!who) {
    log(Priority::Error, "L7 proxy: user '" + config_.limits.user +
                             "' does not exist; create it or set [proxy] user. Flows of "
                             "http/tls_sni rules are dropped meanwhile");
    restart_at_ = Clock::now() + std::chrono::seconds(10);
    return;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    log(Priority::Error, std::string("L7 proxy: socketpair: ") + std::strerror(errno));
    return;
  }
  int size = static_cast<int>(proxy::kMaxControlMessage);
  for (int fd : pair) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  pid_t pid = spawn(binary_, *who, pair[1], config_.limits.workers);
  int err = errno;
  close(pair[1]);
  if (pid < 0) {
    close(pair[0]);
    log(Priority::Error, "L7 proxy: starting " + binary_ + ": " + std::strerror(err) +
                             " (its flows are dropped meanwhile)");
    restart_at_ = Clock::now() + std::chrono::seconds(10);
    return;
  }
  control_ = pair[0];
  status_.running = true;
  status_.pid = pid;
  ++status_.starts;
  started_at_ = Clock::now();
  log(Priority::Notice, "L7 proxy started (pid " + std::to_string(pid) + ", user " + who->name +
                            ", " + std::to_string(config_.rules.size()) + " rule(s))");
  std::set<std::uint16_t> all;
  for (const auto& r : config_.rules) all.insert(r.slot);
  handed_.clear();
  send(all);
}

void ProxySupervisor::stop() {
  if (control_ < 0) return;
  pid_t pid = status_.pid;
  close(control_);
  control_ = -1;
  kill(pid, SIGTERM);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  status_.running = false;
  status_.pid = 0;
  status_.active_connections = 0;
  handed_.clear();
  log(Priority::Notice, "L7 proxy stopped");
}

void ProxySupervisor::handle() {
  for (int i = 0; i < 64 && control_ >= 0; ++i) {
    std::string text;
    std::vector<int> fds;
    try {
      pollfd p{control_, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0) return;
      if (!proxy::receive_message(control_, text, fds)) {
        ended();
        return;
      }
      for (int fd : fds) close(fd);  // it sends none
      auto report = proxy::decode_report(text);
      status_.active_connections = report.active_connections;
      for (const auto& c : report.counters) proxy::accumulate(counters_[c.rule], c);
      on_report_(std::move(report));
    } catch (const std::exception& e) {
      log(Priority::Warning, std::string("L7 proxy: ") + e.what());
    }
  }
}

// The proxy died: its listeners closed with it (flows are dropped until
// it is back). Restarted after a back-off that grows while it keeps dying.
void ProxySupervisor::ended() {
  close(control_);
  control_ = -1;
  int wstatus = 0;
  waitpid(status_.pid, &wstatus, 0);
  status_.last_exit = WIFSIGNALED(wstatus)
                          ? std::string("killed by signal ") + strsignal(WTERMSIG(wstatus))
                          : "exited with status " + std::to_string(WEXITSTATUS(wstatus));
  status_.running = false;
  status_.pid = 0;
  status_.active_connections = 0;
  handed_.clear();
  backoff_ = Clock::now() - started_at_ > std::chrono::seconds(30)
                 ? std::chrono::milliseconds(250)
                 : std::min(backoff_ * 2, std::chrono::milliseconds(10000));
  restart_at_ = Clock::now() + backoff_;
  log(Priority::Error, "L7 proxy " + status_.last_exit + "; restarting in " +
                           std::to_string(backoff_.count()) +
                           " ms (its flows are dropped meanwhile)");
}

void ProxySupervisor::tick() {
  if (status_.wanted && control_ < 0 && Clock::now() >= restart_at_) start();
}

}  // namespace sluice::service
