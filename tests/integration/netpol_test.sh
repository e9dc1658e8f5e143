#!/usr/bin/env bash
# NetworkPolicy conformance over real pods (docs/kubernetes.md,
# "Conformance"): nine pods (namespaces x, y, z; pods a, b, c), each a
# network namespace wired by sluice-cni as kubelet's runtime would, behind
# a sluiced in Kubernetes mode that follows the replay server (an API
# server playing the cluster's state from a file, over HTTPS with a
# token, in the firewall's namespace). tests/k8s/conformance.py then runs
# every case: writes its state, waits for sluiced to apply it, probes all
# pod pairs on TCP and UDP 80 and 81 and compares with the expected
# reachability.
#
#   netpol_test.sh SLUICED SLUICECTL SLUICE_CNI [CASE]
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
ONLY=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
k8s=$(cd "$here/../k8s" && pwd)
source "$here/lib.sh"

p=np$SLUICE_TEST_ID
fw=$p-fw
test_workdir

echo "--- the API server: certificates, kubeconfig, the replay server"
server_certificate 127.0.0.1
token=replay-$RANDOM$RANDOM
cat >"$work/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: replay
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
users:
- name: sluice
  user:
    token: $token
contexts:
- name: replay
  context: {cluster: replay, user: sluice}
current-context: replay
YAML
echo '{}' >"$work/state.json"
ns_new "$fw"
ip -n "$fw" link set lo up
ip netns exec "$fw" python3 "$k8s/replay_server.py" --port 6443 --cert "$work/server.crt" \
	--key "$work/server.key" --token "$token" --state "$work/state.json" >"$work/replay.log" 2>&1 &
replay=$!
cleanup_add "kill $replay 2>/dev/null"
wait_for "the replay server" 10 grep -q serving "$work/replay.log" || {
	cat "$work/replay.log"
	exit 1
}

cat >"$work/sluice.toml" <<TOML
[containers]
ipv4 = "10.42.0.0/24"

[router]
forwarding = true

[chains]
input = "drop"
forward = "drop"
output = "accept"

[kubernetes]
enabled = true
kubeconfig = "kubeconfig"
node_name = "node-1"
TOML
start_sluiced "$fw"
check "sluiced follows the replay server" grep -q "kubernetes: following https://127.0.0.1:6443 as node node-1" "$log"

echo "--- sluice-cni put in place the k3s way (the DaemonSet's init step, docs/k3s.md)"
# A k3s node's layout in a private mount namespace (a tmpfs over /var/lib
# there only); its containerd configuration names the directories.
mkdir -p "$work/k3s"
unshare -m bash -c "
	mount -t tmpfs sluice-k3s /var/lib &&
	mkdir -p /var/lib/rancher/k3s/agent/etc/containerd /var/lib/rancher/k3s/data/cni &&
	printf '%s\n' 'version = 2' '[plugins.\"io.containerd.grpc.v1.cri\".cni]' \
		'  bin_dir = \"/var/lib/rancher/k3s/data/cni\"' \
		'  conf_dir = \"/var/lib/rancher/k3s/agent/etc/cni/net.d\"' \
		>/var/lib/rancher/k3s/agent/etc/containerd/config.toml &&
	$SLUICED --install-cni k3s --socket $sock --database $work/sluice.db &&
	cp -r /var/lib/rancher/k3s/agent/etc/cni/net.d /var/lib/rancher/k3s/data/cni $work/k3s/
" >"$work/install-cni.log" 2>&1
check "sluiced --install-cni k3s wrote the conflist where k3s's containerd reads it" \
	grep -q "\"socket\": \"$sock\"" "$work/k3s/net.d/10-sluice.conflist"
check "...and the plugin where it looks for plugins" test -x "$work/k3s/cni/sluice-cni"
check "sluicectl cni install --k3s says when this is no k3s node" \
	bash -c "$ctl cni install --k3s 2>&1 | grep -q 'no k3s here: /var/lib/rancher/k3s is not a directory'"
CNI=$work/k3s/cni/sluice-cni
# The network configuration the runtime passes: the conflist's plugin
# entry with its name and version (as libcni makes it).
netconf=$(field "json.dumps(dict(d['plugins'][0], cniVersion=d['cniVersion'], name=d['name']))" \
	<"$work/k3s/net.d/10-sluice.conflist")

echo "--- nine pods wired by sluice-cni, each serving TCP and UDP on 80 and 81"
pods="["
for n in x y z; do
	for pod in a b c; do
		ns=$p-$n-$pod
		ns_new "$ns"
		ip -n "$ns" link set lo up
		result=$(echo "$netconf" |
			CNI_COMMAND=ADD CNI_CONTAINERID=$n$pod$SLUICE_TEST_ID CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
				CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$n;K8S_POD_NAME=$pod" CNI_PATH=/usr/lib/cni "$CNI")
		addr=$(echo "$result" | field "d['ips'][0]['address'].split('/')[0]")
		[[ -n $addr ]] || {
			echo "ADD of $n/$pod failed: $result"
			exit 1
		}
		ip netns exec "$ns" python3 "$k8s/probe_agent.py" serve >/dev/null 2>&1 &
		cleanup_add "kill $!"
		pods+="{\"ns\": \"$n\", \"name\": \"$pod\", \"netns\": \"$ns\", \"ip\": \"$addr\"},"
	done
done
echo "${pods%,}]" >"$work/pods.json"
pass "nine pods wired: $(field "' '.join(p['ip'] for p in d)" <"$work/pods.json")"

echo "--- the conformance cases"
if python3 "$k8s/conformance.py" --cases "$here/../data/k8s/netpol_cases.json" \
	--state "$work/state.json" --log "$log" --pods "$work/pods.json" ${ONLY:+--only "$ONLY"}; then
	pass "every case: observed reachability == expected"
else
	fail "some cases disagree (above)"
	grep -E "kubernetes" "$log" | tail -20 | sed 's/^/     | /'
fi
check "no state was refused" bash -c "! grep -q 'not applied' $log"

echo "--- sluicectl rules lists NetworkPolicy's rules with their counters"
# The last case's state is live: z/a isolated by z/deny-a, the other pods
# not isolated; the probes above went through those rules.
rules=$($ctl --json rules)
from_cluster=$($ctl --json status | field "d['kubernetes'].get('rules', -1)")
check "every rule the cluster gave is listed, as from kubernetes ($from_cluster in the status)" \
	test "$(field "sum(r['source'] == 'kubernetes' for r in d['rules'])" <<<"$rules")" = "$from_cluster"
check "...in the datapath's order (indexes 0..n-1: the TOML has no rules)" \
	test "$(field "[r['index'] for r in d['rules']] == list(range(len(d['rules'])))" <<<"$rules")" = True
check "...and their counters moved with the probes" \
	test "$(field "any(r['packets'] > 0 for r in d['rules'] if r['source'] == 'kubernetes')" <<<"$rules")" = True
check "...and one is z/deny-a's isolation of z/a" \
	test "$(field "any('z/deny-a' in r['name'] for r in d['rules'])" <<<"$rules")" = True
check "sluicectl rules says where each comes from" \
	bash -c "$ctl rules | grep -qE 'not isolated +.* kubernetes\$'"

echo "--- sluicectl status shows how the watch of the API server is doing"
# watch EXPR: EXPR of w, the status's watch by collection ("pods", ...).
watch() {
	$ctl --json status |
		field "(lambda w: $1)({x['collection'].split('/')[-1]: x for x in d['kubernetes']['watch']})"
}
check "all four collections listed" test "$(watch "sorted(k for k in w if w[k]['listed'])")" = \
	"['namespaces', 'networkpolicies', 'nodes', 'pods']"
check "...with the objects the replay server holds (9 pods, 1 network policy)" \
	test "$(watch "(w['pods']['objects'], w['networkpolicies']['objects'])")" = "(9, 1)"
check "...and the policies' changes seen (lists and events)" \
	test "$(watch "w['networkpolicies']['lists'] + w['networkpolicies']['events'] > 1")" = True
kill "$replay"
all_report_a_problem() { test "$(watch "all('last_problem' in x for x in w.values())")" = True; }
check "with the API server gone, every collection's watch says what went wrong" \
	wait_for "every watch to report a problem" 15 all_report_a_problem
check "...with what went wrong" test -n "$(watch "w['pods'].get('last_problem', '')")"
check "sluicectl status says it, with the time" \
	bash -c "$ctl status | grep -qE '^  watch /api/v1/pods: listed, 9 objects; .*; last problem [0-9-]+ [0-9:]+: .+'"
$ctl status | grep -E "^kubernetes|^  watch" | sed 's/^/     | /'
check "the cluster's rules stay while the API server is gone" \
	test "$($ctl --json status | field "d['kubernetes']['rules']")" = "$from_cluster"
finish
