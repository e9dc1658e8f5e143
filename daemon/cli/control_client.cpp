#include "cli/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::cli {

std::optional<nlohmann::json> ask_sluiced(const std::string& socket_path,
                                          const nlohmann::json& request, std::string& error) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = "cannot reach sluiced at " + socket_path + ": " + std::strerror(errno) +
            " (is it running? are you root?)";
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  std::string text = request.dump();
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    error = std::string("sending to sluiced: ") + std::strerror(errno);
    close(fd);
    return std::nullopt;
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<std::size_t>(n));
  close(fd);
  auto j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded()) {
    error = "sluiced sent an answer that is not JSON";
    return std::nullopt;
  }
  return j;
}

}  // namespace sluice::cli
