// [kubernetes] (docs/config.md, docs/kubernetes.md).
#include "config/parser_sections.h"

namespace sluice::config::detail {

namespace {

// A Kubernetes node name: a DNS subdomain (RFC 1123), lower case.
bool node_name_ok(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!alnum && c != '-') return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return label > 0 && name.back() != '-';
}

}  // namespace

void Parser::parse_kubernetes(const toml::table& root) {
  const auto* t = table_at(root, "kubernetes", "kubernetes");
  if (!t) return;
  check_keys(*t, "kubernetes", {"enabled", "kubeconfig", "context", "node_name", "tunnel"});
  auto& k = cfg_.kubernetes;
  k.where = loc(*t);
  if (const auto* n = t->get("enabled")) {
    if (auto b = n->value_exact<bool>())
      k.enabled = *b;
    else
      error(*n, "kubernetes.enabled", "must be true or false");
  }
  if (auto path = string_at(*t, "kubeconfig", "kubernetes.kubeconfig")) {
    k.kubeconfig = resolve(*path);
    if (k.enabled && !readable_regular_file(k.kubeconfig))
      error(*t->get("kubeconfig"), "kubernetes.kubeconfig",
            "cannot read '" + k.kubeconfig + "' (a readable kubeconfig file)");
  }
  if (auto context = string_at(*t, "context", "kubernetes.context")) {
    k.context = *context;
    if (k.kubeconfig.empty())
      error(*t->get("context"), "kubernetes.context",
            "names a context of a kubeconfig: give kubernetes.kubeconfig too");
  }
  if (auto node = string_at(*t, "node_name", "kubernetes.node_name")) {
    k.node_name = *node;
    if (!node_name_ok(*node))
      error(*t->get("node_name"), "kubernetes.node_name",
            "'" + *node +
                "' is not a node name (lower-case letters, digits, '-' and '.', "
                "at most 253 characters)");
  }
  enum_at<Tunnel>(*t, "tunnel", "kubernetes", "a tunnel mode",
                  {{"none", Tunnel::None}, {"vxlan", Tunnel::Vxlan}}, false, k.tunnel);
}

}  // namespace sluice::config::detail
