#include "cni/invocation.h"

#include <cctype>

#include "cni/versions.h"

namespace sluice::cni {

namespace {

constexpr std::pair<std::string_view, Command> kCommands[] = {
    {"ADD", Command::Add},       {"DEL", Command::Del},         {"CHECK", Command::Check},
    {"STATUS", Command::Status}, {"VERSION", Command::Version}, {"GC", Command::Gc},
};

Error environment_error(const std::string& details) {
  return {kInvalidEnvironment, "invalid CNI environment variables", details};
}

// The spec's container ID: an alphanumeric, then alphanumerics, '_', '.'
// or '-'.
bool valid_container_id(std::string_view id) {
  if (id.empty() || !std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
      return false;
  return true;
}

// Why an interface name cannot be used in the container, or "".
std::string ifname_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "may not be '.' or '..'";
  if (name.size() > 15) return "is longer than 15 characters";
  for (char c : name)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)))
      return "may not contain '/', ':' or whitespace";
  return "";
}

// CNI_ARGS: KEY=VALUE pairs separated by ';'.
std::variant<std::vector<std::pair<std::string, std::string>>, Error> parse_args(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    auto end = text.find(';');
    auto pair = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    if (eq == 0 || eq == std::string_view::npos)
      return environment_error("CNI_ARGS: '" + std::string(pair) + "' is not KEY=VALUE");
    out.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
  }
  return out;
}

// The configuration's cniVersion, name and type, as the spec requires.
std::optional<InvocationError> check_config(const nlohmann::json& config, Command command,
                                            std::string& version) {
  auto invalid = [&](const std::string& details) {
    return InvocationError{{kInvalidNetworkConfig, "invalid network configuration", details},
                           version};
  };
  auto v = config.find("cniVersion");
  if (v == config.end() || !v->is_string())
    return invalid("\"cniVersion\" is missing or not a string");
  auto parsed = parse_version(v->get<std::string>());
  if (!parsed) return invalid("\"cniVersion\": '" + v->get<std::string>() + "' is not a version");
  if (!is_supported(v->get<std::string>())) {
    std::string supported;
    for (auto s : kSupportedVersions) supported += (supported.empty() ? "" : ", ") + std::string(s);
    return InvocationError{{kIncompatibleVersion, "incompatible CNI version",
                            "cniVersion " + v->get<std::string>() +
                                " is not supported; sluice-cni speaks " + supported},
                           version};
  }
  version = v->get<std::string>();
  for (const char* key : {"name", "type"}) {
    auto f = config.find(key);
    if (f == config.end() || !f->is_string() || f->get<std::string>().empty())
      return invalid(std::string("\"") + key + "\" is missing or not a non-empty string");
  }
  if ((command == Command::Status || command == Command::Gc) && *parsed < Version{1, 1, 0})
    return InvocationError{
        {kIncompatibleVersion, "incompatible CNI version",
         std::string(command_name(command)) +
             " needs a configuration of cniVersion 1.1.0 or later, not " + version},
        version};
  return std::nullopt;
}

}  // namespace

std::string_view command_name(Command c) {
  for (const auto& [name, command] : kCommands)
    if (command == c) return name;
  return "?";
}

std::variant<Invocation, InvocationError> read_invocation(
    const std::function<const char*(const char*)>& env, std::string_view stdin_text) {
  Invocation inv;
  inv.cni_version = std::string(kNewestVersion);
  auto fail = [&](Error e) { return InvocationError{std::move(e), inv.cni_version}; };

  const char* command = env("CNI_COMMAND");
  if (!command || !*command) return fail(environment_error("CNI_COMMAND is not set"));
  bool known = false;
  for (const auto& [name, c] : kCommands)
    if (name == command) inv.command = c, known = true;
  if (!known)
    return fail(environment_error(std::string("CNI_COMMAND: '") + command +
                                  "' is not one of ADD, DEL, CHECK, STATUS, VERSION, GC"));

  if (stdin_text.size() > kMaxConfigBytes)
    return fail({kDecodingFailure, "network configuration too large",
                 "the configuration on stdin is larger than " + std::to_string(kMaxConfigBytes) +
                     " bytes"});
  bool blank = stdin_text.find_first_not_of(" \t\r\n") == std::string_view::npos;
  if (blank && inv.command != Command::Version)
    return fail({kDecodingFailure, "no network configuration",
                 "stdin is empty; the runtime passes the network configuration there"});
  if (!blank) {
    inv.config = nlohmann::json::parse(stdin_text, nullptr, false);
    if (inv.config.is_discarded() || !inv.config.is_object())
      return fail({kDecodingFailure, "network configuration is not a JSON object",
                   "stdin must hold the network configuration as one JSON object"});
  }
  if (inv.command == Command::Version) {
    // Only the version matters here: answer in the one asked about.
    auto v = inv.config.is_object() ? inv.config.find("cniVersion") : inv.config.end();
    if (!blank && v != inv.config.end() && v->is_string() && is_supported(v->get<std::string>()))
      inv.cni_version = v->get<std::string>();
    return inv;
  }
  if (auto problem = check_config(inv.config, inv.command, inv.cni_version)) return *problem;

  if (const char* args = env("CNI_ARGS")) {
    auto parsed = parse_args(args);
    if (auto* e = std::get_if<Error>(&parsed)) return fail(*e);
    inv.args = std::get<0>(std::move(parsed));
  }
  if (const char* path = env("CNI_PATH")) inv.path = path;
  if (inv.command == Command::Status || inv.command == Command::Gc) return inv;

  const char* id = env("CNI_CONTAINERID");
  if (!id || !*id) return fail(environment_error("CNI_CONTAINERID is not set"));
  if (!valid_container_id(id))
    return fail(environment_error(std::string("CNI_CONTAINERID: '") + id +
                                  "' must start with a letter or digit and hold only letters, "
                                  "digits, '_', '.' and '-'"));
  inv.container_id = id;
  const char* ifname = env("CNI_IFNAME");
  if (!ifname) return fail(environment_error("CNI_IFNAME is not set"));
  if (auto problem = ifname_problem(ifname); !problem.empty())
    return fail(environment_error(std::string("CNI_IFNAME: '") + ifname + "' " + problem));
  inv.ifname = ifname;
  const char* netns = env("CNI_NETNS");
  if (netns) inv.netns = netns;
  if (inv.netns.empty() && inv.command != Command::Del)
    return fail(environment_error("CNI_NETNS is not set"));
  return inv;
}

}  // namespace sluice::cni
