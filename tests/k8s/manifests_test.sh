#!/usr/bin/env bash
# packaging/k8s validated offline (docs/k3s.md): every document against
# the Kubernetes API's schemas and types (tests/k8s/manifests/validate.js;
# the packages are installed by scripts/setup); broken copies must fail
# the same check; the RBAC grants exactly what Kubernetes mode reads; the
# ConfigMap's sluice.toml is a valid configuration; the DaemonSet's init
# step is the command docs/k3s.md and integration.netpol use.
#
#   manifests_test.sh SLUICED
set -uo pipefail
SLUICED=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/tests/integration/lib.sh"
k8s=$root/packaging/k8s
validate() { node "$here/manifests/validate.js" "$@"; }
work=$(mktemp -d)
cleanup_add "rm -rf $work"

check "the manifests validate against the API's schemas and types" validate "$k8s"/*.yaml

# Each broken copy must be refused, for the reason given.
refused() { # TEXT: the broken copy fails, saying TEXT
	! validate "$work/broken.yaml" >"$work/out" && grep -qF -- "$1" "$work/out" || {
		cat "$work/out"
		return 1
	}
}
broken() { # DESCRIPTION EXPECTED_TEXT SED_EXPRESSION
	sed "$3" "$k8s/daemonset.yaml" >"$work/broken.yaml"
	check "refused: $1" refused "$2"
}
broken "an unknown field (a typo)" "'\"imag\"' does not exist in type 'Container'" \
	's/^        - name: sluiced$/        - name: sluiced\n          imag: x/'
broken "a value of the wrong type" "hostNetwork must be boolean" 's/hostNetwork: true/hostNetwork: "yes"/'
broken "a missing required field" "data/spec must have required property selector" \
	'/^  selector:$/,/^      app.kubernetes.io\/name: sluice$/d'

rbac=$(node -e '
const YAML = require(process.argv[1] + "/manifests/node_modules/yaml");
const docs = YAML.parseAllDocuments(require("fs").readFileSync(process.argv[2], "utf8")).map(d => d.toJS());
const role = docs.find(d => d.kind === "ClusterRole");
console.log(role.rules.flatMap(r => r.resources.map(x => (r.apiGroups[0] || "core") + "/" + x + ":" + r.verbs.join(","))).sort().join(" "));
' "$here" "$k8s/rbac.yaml")
check "RBAC: get/list/watch of exactly the four kinds sluiced follows" test "$rbac" = \
	"core/namespaces:get,list,watch core/nodes:get,list,watch core/pods:get,list,watch networking.k8s.io/networkpolicies:get,list,watch"
for path in /api/v1/namespaces /api/v1/pods /api/v1/nodes /apis/networking.k8s.io/v1/networkpolicies; do
	check "sluiced follows $path (k8s/cluster_watch.cpp)" grep -q "\"$path\"" "$root/daemon/k8s/cluster_watch.cpp"
done

node -e '
const YAML = require(process.argv[1] + "/manifests/node_modules/yaml");
const cm = YAML.parse(require("fs").readFileSync(process.argv[2], "utf8"));
process.stdout.write(cm.data["sluice.toml"]);
' "$here" "$k8s/configmap.yaml" >"$work/sluice.toml"
check "the ConfigMap's sluice.toml is valid (sluiced --check)" "$SLUICED" --check --config "$work/sluice.toml"
check "the DaemonSet's init step is sluiced --install-cni k3s" \
	grep -q '"/usr/sbin/sluiced", "--install-cni", "k3s",' "$k8s/daemonset.yaml"
check "docs/k3s.md names the same init step" grep -q "sluiced --install-cni k3s" "$root/docs/k3s.md"
finish
