// Where the API server is and how sluiced proves who it is: from a
// kubeconfig file (k3s writes one to /etc/rancher/k3s/k3s.yaml) or, in a
// pod of the DaemonSet, from its service account. docs/kubernetes.md
// ("Connecting").
#pragma once

#include <stdexcept>
#include <string>

#include "k8s/api_client.h"

namespace sluice::k8s {

// What is missing or wrong, naming the file and the entry.
struct ConnectionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The context named (or the file's current-context): its cluster's
// server and CA, its user's token (token or tokenFile) or client
// certificate and key. Inline *-data entries are written to files in
// data_dir (created 0700, files 0600). Relative paths are the file's
// directory's. Refused: plain http, insecure-skip-tls-verify, exec and
// auth-provider users (sluiced runs no plugins). Throws ConnectionError.
ApiServer read_kubeconfig(const std::string& path, const std::string& context,
                          const std::string& data_dir);

// KUBERNETES_SERVICE_HOST and _PORT, and the token and CA of the pod's
// service account in account_dir. The token file is read again before
// each request (kubelet rotates it). Throws ConnectionError.
ApiServer in_cluster(
    const std::string& account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

}  // namespace sluice::k8s
