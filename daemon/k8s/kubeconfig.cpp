#include "k8s/kubeconfig.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace sluice::k8s {

namespace {

// RFC 4648 base64 (what kubeconfig's *-data entries hold); whitespace is
// skipped. Returns false on any other character.
bool base64_decode(const std::string& in, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  unsigned bits = 0;
  int count = 0;
  bool padding = false;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int v = value(c);
    if (v < 0 || padding) return false;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return true;
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The entry of list (clusters, users, contexts) with this name: its
// value under key ("cluster", "user", "context").
YAML::Node named(const YAML::Node& root, const char* list, const std::string& name, const char* key,
                 const std::string& file) {
  const auto& entries = root[list];
  if (entries && entries.IsSequence())
    for (const auto& e : entries)
      if (e["name"] && e["name"].as<std::string>() == name) {
        if (!e[key] || !e[key].IsMap())
          throw ConnectionError(file + ": " + list + " entry '" + name + "' has no " + key);
        return e[key];
      }
  throw ConnectionError(file + ": no " + std::string(list) + " entry named '" + name + "'");
}

std::string text(const YAML::Node& n, const char* key) {
  return n[key] && n[key].IsScalar() ? n[key].as<std::string>() : "";
}

class Reader {
 public:
  Reader(std::string path, std::string data_dir)
      : path_(std::move(path)), dir_(directory_of(path_)), data_dir_(std::move(data_dir)) {}

  // A file entry (relative to the kubeconfig) or its *-data twin.
  std::string file(const YAML::Node& n, const char* key, const std::string& data_name) {
    auto data_key = std::string(key) + "-data";
    if (auto data = text(n, data_key.c_str()); !data.empty()) {
      std::string bytes;
      if (!base64_decode(data, bytes))
        throw ConnectionError(path_ + ": " + data_key + " is not base64");
      return write(data_name, bytes);
    }
    auto p = text(n, key);
    if (p.empty()) return "";
    return p.front() == '/' ? p : dir_ + "/" + p;
  }

 private:
  std::string write(const std::string& name, const std::string& bytes) {
    if (::mkdir(data_dir_.c_str(), 0700) != 0 && errno != EEXIST)
      throw ConnectionError("creating " + data_dir_ + ": " + std::strerror(errno));
    auto target = data_dir_ + "/" + name;
    auto temp = target + ".new";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw ConnectionError("writing " + temp + ": " + std::strerror(errno));
    bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    ok = ::close(fd) == 0 && ok;
    if (!ok || ::rename(temp.c_str(), target.c_str()) != 0)
      throw ConnectionError("writing " + target + ": " + std::strerror(errno));
    return target;
  }

  std::string path_, dir_, data_dir_;
};

}  // namespace

ApiServer read_kubeconfig(const std::string& path, const std::string& context,
                          const std::string& data_dir) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConnectionError(path + ": cannot be read");
  } catch (const YAML::Exception& e) {
    throw ConnectionError(path + ": not YAML: " + e.what());
  }
  if (!root.IsMap()) throw ConnectionError(path + ": not a kubeconfig (no mapping at the top)");
  try {
    auto name = context.empty() ? text(root, "current-context") : context;
    if (name.empty()) throw ConnectionError(path + ": no current-context, and none given");
    auto ctx = named(root, "contexts", name, "context", path);
    auto cluster = named(root, "clusters", text(ctx, "cluster"), "cluster", path);
    auto user = named(root, "users", text(ctx, "user"), "user", path);

    ApiServer out;
    try {
      parse_server_url(text(cluster, "server"), out);
    } catch (const std::invalid_argument& e) {
      throw ConnectionError(path + ": " + e.what());
    }
    if (text(cluster, "insecure-skip-tls-verify") == "true")
      throw ConnectionError(path + ": insecure-skip-tls-verify is refused (give the cluster's CA)");
    Reader files(path, data_dir);
    out.ca_file = files.file(cluster, "certificate-authority", "ca.crt");
    if (out.ca_file.empty())
      throw ConnectionError(path + ": cluster '" + text(ctx, "cluster") +
                            "' has no certificate-authority(-data): the server cannot be verified");
    if (user["exec"] || user["auth-provider"])
      throw ConnectionError(path + ": user '" + text(ctx, "user") +
                            "' needs a credential plugin (exec/auth-provider), which sluiced does "
                            "not run: give a token or a client certificate");
    out.token = text(user, "token");
    if (auto f = text(user, "tokenFile"); !f.empty())
      out.token_file = f.front() == '/' ? f : directory_of(path) + "/" + f;
    out.cert_file = files.file(user, "client-certificate", "client.crt");
    out.key_file = files.file(user, "client-key", "client.key");
    if (out.cert_file.empty() != out.key_file.empty())
      throw ConnectionError(path + ": user '" + text(ctx, "user") +
                            "' has a client certificate without its key or the other way round");
    if (out.token.empty() && out.token_file.empty() && out.cert_file.empty())
      throw ConnectionError(path + ": user '" + text(ctx, "user") +
                            "' has neither a token nor a client certificate");
    return out;
  } catch (const YAML::Exception& e) {
    throw ConnectionError(path + ": " + e.what());
  }
}

ApiServer in_cluster(const std::string& account_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    throw ConnectionError(
        "not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (give "
        "[kubernetes] kubeconfig instead)");
  std::string h = host;
  ApiServer out;
  try {
    parse_server_url(
        "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port, out);
  } catch (const std::invalid_argument& e) {
    throw ConnectionError(std::string("the service account's API server: ") + e.what());
  }
  out.ca_file = account_dir + "/ca.crt";
  out.token_file = account_dir + "/token";
  for (const auto& f : {out.ca_file, out.token_file})
    if (::access(f.c_str(), R_OK) != 0)
      throw ConnectionError("the service account's " + f +
                            " cannot be read: " + std::strerror(errno));
  return out;
}

}  // namespace sluice::k8s
