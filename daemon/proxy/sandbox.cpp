#include "proxy/sandbox.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <system_error>
#include <vector>

namespace sluice::proxy {

namespace {

// What the running proxy calls: sockets and epoll, memory, time, exit.
// socket() is checked apart: only AF_INET and AF_INET6.
const int kAllowed[] = {
    SYS_read,       SYS_write,           SYS_close,        SYS_epoll_wait,     SYS_epoll_pwait,
    SYS_epoll_ctl,  SYS_accept4,         SYS_connect,      SYS_getsockname,    SYS_getpeername,
    SYS_setsockopt, SYS_getsockopt,      SYS_recvfrom,     SYS_sendto,         SYS_recvmsg,
    SYS_sendmsg,    SYS_shutdown,        SYS_brk,          SYS_mmap,           SYS_munmap,
    SYS_mremap,     SYS_madvise,         SYS_mprotect,     SYS_futex,          SYS_clock_gettime,
    SYS_exit,       SYS_exit_group,      SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_fcntl,
    SYS_newfstatat, SYS_fstat,           SYS_lseek,        SYS_getpid,         SYS_gettid,
    SYS_tgkill,     SYS_restart_syscall, SYS_sched_yield,  SYS_getrandom,
};

}  // namespace

void enter_sandbox() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    throw std::system_error(errno, std::generic_category(), "no_new_privs");
  std::vector<sock_filter> f;
  auto stmt = [&](unsigned short code, unsigned k) { f.push_back(BPF_STMT(code, k)); };
  auto jump = [&](unsigned short code, unsigned k, unsigned char jt, unsigned char jf) {
    f.push_back(BPF_JUMP(code, k, jt, jf));
  };
  const unsigned kill = SECCOMP_RET_KILL_PROCESS, allow = SECCOMP_RET_ALLOW;
  // Only x86-64 system calls, and none of the x32 ones.
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch));
  jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  stmt(BPF_RET | BPF_K, kill);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr));
  jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
  stmt(BPF_RET | BPF_K, kill);
  for (int nr : kAllowed) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1);
    stmt(BPF_RET | BPF_K, allow);
  }
  // socket(AF_INET or AF_INET6, ...): the upstream connections.
  jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 5);
  stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0]));
  jump(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 2, 0);
  jump(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 1, 0);
  stmt(BPF_RET | BPF_K, kill);
  stmt(BPF_RET | BPF_K, allow);
  stmt(BPF_RET | BPF_K, kill);
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  // Per thread (prctl): every thread of the proxy calls this for itself
  // before it touches a client's byte. Not seccomp(2) with TSYNC: the
  // system call is outside what sluiced's unit allows (@system-service).
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
    throw std::system_error(errno, std::generic_category(), "installing the seccomp filter");
}

}  // namespace sluice::proxy
