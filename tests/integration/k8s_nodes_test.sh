#!/usr/bin/env bash
# A simulated two-node cluster (docs/kubernetes.md, "Nodes"): two
# network namespaces as nodes, each with its own sluiced in Kubernetes
# mode, both following the same replay server (on node 1, reached by
# node 2 over the network). Each node's pods get addresses from its
# podCIDR (the Node objects), each node routes the other's podCIDR, pods
# talk across nodes, and a NetworkPolicy written to the replay server
# takes effect on both nodes: the time from the write to each node's
# apply and to the first denied probe is measured and printed.
#
#   direct: the nodes share a link; routes to the other's InternalIP.
#   vxlan:  the nodes are in different subnets behind a router; the
#           pods' traffic goes through sluice's VXLAN tunnel.
#
#   k8s_nodes_test.sh SLUICED SLUICECTL SLUICE_CNI [direct|vxlan]
set -uo pipefail
SLUICED=$1
CNI=$3
MODE=${4:-direct}
here=$(cd "$(dirname "$0")" && pwd)
k8s=$(cd "$here/../k8s" && pwd)
source "$here/lib.sh"

p=kn$SLUICE_TEST_ID
test_workdir
for n in 1 2; do ns_new "$p-n$n"; done
if [[ $MODE == direct ]]; then
	ip1=192.0.2.1 ip2=192.0.2.2
	veth "$p-n1" link0 "$p-n2" link0
	ip -n "$p-n1" addr add $ip1/24 dev link0
	ip -n "$p-n2" addr add $ip2/24 dev link0
else # two subnets and a router between them, nothing else
	ip1=198.51.100.1 ip2=203.0.113.2
	ns_new "$p-r"
	veth "$p-n1" link0 "$p-r" to1
	veth "$p-n2" link0 "$p-r" to2
	ip -n "$p-r" addr add 198.51.100.254/24 dev to1
	ip -n "$p-r" addr add 203.0.113.254/24 dev to2
	ip netns exec "$p-r" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$p-n1" addr add $ip1/24 dev link0
	ip -n "$p-n2" addr add $ip2/24 dev link0
	ip -n "$p-n1" route add 203.0.113.0/24 via 198.51.100.254
	ip -n "$p-n2" route add 198.51.100.0/24 via 203.0.113.254
fi

echo "--- the replay server on node 1 ($ip1:6443), $MODE routing"
server_certificate $ip1
token=replay-$RANDOM$RANDOM
# state POLICIES_JSON [PODS_JSON]: the cluster: two nodes, namespace x,
# the pods given ([{name, node, ip}]) and the policies.
state() {
	python3 - "$1" "${2:-[]}" "$work/state.json" "$ip1" "$ip2" <<'PY'
import json, os, sys
policies, pods, path, ip1, ip2 = json.loads(sys.argv[1]), json.loads(sys.argv[2]), *sys.argv[3:]
node = lambda n, cidr, ip: {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n},
                            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
                            "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                                     {"type": "Hostname", "address": n}]}}
state = {"nodes": [node("node-1", "10.42.1.0/24", ip1), node("node-2", "10.42.2.0/24", ip2)],
         "namespaces": [{"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": "x", "labels": {"ns": "x"}}}],
         "pods": [{"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"namespace": "x", "name": q["name"], "labels": {"pod": q["name"]}},
                   "spec": {"nodeName": q["node"], "containers": [{"name": "server"}]},
                   "status": {"phase": "Running", "podIP": q["ip"], "podIPs": [{"ip": q["ip"]}]}}
                  for q in pods],
         "networkpolicies": policies}
with open(path + ".new", "w") as f:
    json.dump(state, f)
os.rename(path + ".new", path)
PY
}
state '[]'
ip netns exec "$p-n1" python3 "$k8s/replay_server.py" --address $ip1 --port 6443 \
	--cert "$work/server.crt" --key "$work/server.key" --token "$token" \
	--state "$work/state.json" >"$work/replay.log" 2>&1 &
cleanup_add "kill $!"
wait_for "the replay server" 10 grep -q serving "$work/replay.log" || {
	cat "$work/replay.log"
	exit 1
}

echo "--- a sluiced on each node, the pools from the Node objects"
for n in 1 2; do
	mkdir -p "$work/n$n"
	cat >"$work/n$n/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: replay
  cluster: {server: "https://$ip1:6443", certificate-authority: ../ca.crt}
users:
- name: sluice
  user: {token: $token}
contexts:
- name: replay
  context: {cluster: replay, user: sluice}
current-context: replay
YAML
	# The link to the other node is sluice's too: traffic from the other
	# node's pods is judged where it enters (and its replies known).
	cat >"$work/n$n/sluice.toml" <<TOML
[[interface]]
name = "link0"

[router]
forwarding = true

[chains]
input = "accept"
forward = "drop"
output = "accept"

[kubernetes]
enabled = true
kubeconfig = "kubeconfig"
node_name = "node-$n"
tunnel = "$([[ $MODE == vxlan ]] && echo vxlan || echo none)"
TOML
	sluiced_in "$p-n$n" "$work/n$n/sluiced.log" "$SLUICED" --config "$work/n$n/sluice.toml" \
		--pin-dir "$pins-$n" --database "$work/n$n/sluice.db" --socket "$work/n$n/sluice.sock"
	cleanup_add "kill $sluiced_pid"
	cleanup_add "rm -rf $pins-$n"
done
for n in 1 2; do
	check "node $n applied the cluster with a route to the other node's pods" \
		wait_for "node $n" 20 grep -q "rules applied in .* ms, 1 routes to other nodes" "$work/n$n/sluiced.log"
done
if [[ $MODE == direct ]]; then
	check "node 1 routes 10.42.2.0/24 via node 2's InternalIP" \
		bash -c "ip -n $p-n1 route show 10.42.2.0/24 | grep -q 'via $ip2'"
	check "node 2 routes 10.42.1.0/24 via node 1's InternalIP" \
		bash -c "ip -n $p-n2 route show 10.42.1.0/24 | grep -q 'via $ip1'"
else
	check "node 1 routes 10.42.2.0/24 through the tunnel to node 2's tunnel address" \
		bash -c "ip -n $p-n1 route show 10.42.2.0/24 | grep -q 'via 10.42.2.0 dev sluice.vxlan .*onlink'"
	check "node 1's tunnel: VNI 4242, port 4789, from its InternalIP" \
		bash -c "ip -n $p-n1 -d link show sluice.vxlan | grep -q 'vxlan id 4242 local $ip1 .*dstport 4789'"
	check "node 1's tunnel sends node 2's pods' traffic to node 2's InternalIP" \
		bash -c "bridge -n $p-n1 fdb show dev sluice.vxlan | grep -q '02:53:cb:00:71:02 dst $ip2'"
	check "node 2's tunnel has its address, node 2's podCIDR's first" \
		bash -c "ip -n $p-n2 addr show sluice.vxlan | grep -q 'inet 10.42.2.0/32'"
	check "the tunnel device is sluice's (attached)" \
		bash -c "ip -n $p-n2 link show sluice.vxlan | grep -q xdp"
fi

echo "--- two pods per node, wired by sluice-cni from the node's podCIDR"
pods="["
for n in 1 2; do
	for name in a$n b$n; do
		ns_new "$p-$name"
		result=$(printf '{"cniVersion": "1.0.0", "name": "k8s-pod-network", "type": "sluice-cni", "socket": "%s"}' \
			"$work/n$n/sluice.sock" |
			CNI_COMMAND=ADD CNI_CONTAINERID=$name$SLUICE_TEST_ID CNI_NETNS=/run/netns/$p-$name CNI_IFNAME=eth0 \
				CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=$name" CNI_PATH=/usr/lib/cni "$CNI")
		addr=$(echo "$result" | field "d['ips'][0]['address'].split('/')[0]" 2>/dev/null)
		check "$name on node $n has an address of 10.42.$n.0/24 ($addr)" bash -c "[[ $addr == 10.42.$n.* ]]"
		declare "ip_$name=$addr"
		ip netns exec "$p-$name" python3 "$k8s/probe_agent.py" serve >/dev/null 2>&1 &
		cleanup_add "kill $!"
		pods+="{\"name\": \"$name\", \"node\": \"node-$n\", \"ip\": \"$addr\"},"
	done
done
pods="${pods%,}]"
state '[]' "$pods"
for n in 1 2; do
	wait_for "node $n to know the pods" 10 grep -q "(4 pods, 0 network policies)" "$work/n$n/sluiced.log"
done

# probe POD TARGET_POD PORT PROTO TIMEOUT: prints true or false
probe() {
	local target=ip_$2
	ip netns exec "$p-$1" python3 "$k8s/probe_agent.py" probe "$5" "[[\"${!target}\", $3, \"$4\"]]" |
		tr -d '[]'
}
check "a1 (node 1) reaches a2 (node 2) on TCP 80" test "$(probe a1 a2 80 TCP 3)" = true
check "a2 (node 2) reaches b1 (node 1) on UDP 81" test "$(probe a2 b1 81 UDP 3)" = true
check "b2 reaches b1 across the nodes on TCP 81" test "$(probe b2 b1 81 TCP 3)" = true
check "a1 reaches b1 on its own node" test "$(probe a1 b1 80 TCP 3)" = true
if [[ $MODE == vxlan ]]; then
	tx() { ip -n "$p-n1" -s -j link show sluice.vxlan | field "d[0]['stats64']['tx']['packets']"; }
	check "the pods' traffic went through node 1's tunnel ($(tx) packets)" test "$(tx)" -gt 0
fi

echo "--- a NetworkPolicy through the replay server: into a2 only from b1"
policy='[{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
  "metadata": {"namespace": "x", "name": "a2-from-b1"},
  "spec": {"podSelector": {"matchLabels": {"pod": "a2"}}, "policyTypes": ["Ingress"],
           "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "b1"}}}]}]}}]'
start=$(date +%s%N)
state "$policy" "$pods"
applied=()
for n in 1 2; do
	if wait_for "node $n to apply the policy" 10 grep -q "(4 pods, 1 network policies)" "$work/n$n/sluiced.log"; then
		applied[n]=$((($(date +%s%N) - start) / 1000000))
	else
		applied[n]=-1
	fi
done
# The first probe that is denied, each from a pod of either node.
first_denied() { # FROM
	local t
	for _ in $(seq 1 50); do
		t=$((($(date +%s%N) - start) / 1000000))
		if [[ $(probe "$1" a2 80 TCP 0.1) == false ]]; then
			echo "$t"
			return 0
		fi
	done
	echo -1
}
first_denied a1 >"$work/denied-a1" &
first_denied b2 >"$work/denied-b2" &
wait_for "the probes" 30 test -s "$work/denied-a1" -a -s "$work/denied-b2"
denied_a1=$(cat "$work/denied-a1") denied_b2=$(cat "$work/denied-b2")
echo "policy written -> applied: node 1 ${applied[1]} ms, node 2 ${applied[2]} ms;" \
	"first denied probe: from node 1 ${denied_a1} ms, from node 2 ${denied_b2} ms"
for n in 1 2; do
	check "node $n applied the policy within 1 s (${applied[n]} ms)" \
		bash -c "(( ${applied[n]} >= 0 && ${applied[n]} < 1000 ))"
done
check "denied from node 1 within 1 s (${denied_a1} ms)" bash -c "(( $denied_a1 >= 0 && $denied_a1 < 1000 ))"
check "denied from node 2 within 1 s (${denied_b2} ms)" bash -c "(( $denied_b2 >= 0 && $denied_b2 < 1000 ))"
check "b1 (node 1) still reaches a2 (node 2)" test "$(probe b1 a2 80 TCP 3)" = true
check "a2 still reaches a1 (egress is not isolated)" test "$(probe a2 a1 80 TCP 3)" = true
check_not "a1 does not reach a2" test "$(probe a1 a2 81 UDP 1)" = true
# Flows name the pods (this node's and the other's) and the policy.
ctl1="nsenter --net=/run/netns/$p-n1 $2 --socket $work/n1/sluice.sock"
check "node 1's flows: x/a1 to x/a2 (on node 2) denied by x/a2-from-b1" bash -c \
	"$ctl1 flows | grep 'networkpolicy isolation: x/a2 ingress by x/a2-from-b1' | grep -q 'x/a1 (.*pod=a1) -> $ip_a2:81 x/a2 ('"
check "sluicectl status shows the cluster state node 1 applied" bash -c \
	"$ctl1 status | grep -q 'kubernetes: node node-1, state [0-9]*: 4 pods, 1 network policies -> [0-9]* rules, 1 routes to other nodes ($([[ $MODE == vxlan ]] && echo vxlan || echo none))'"
check "node 1 identifies x/a2 (a pod of node 2) by its labels" bash -c \
	"$ctl1 --json flows | grep -q 'io.kubernetes.pod.namespace=x, namespace.sluice/ns=x, pod=a2'"
if ((failures)); then
	for n in 1 2; do
		echo "--- node $n's log (end)"
		tail -15 "$work/n$n/sluiced.log"
		echo "--- node $n's flows (end)"
		nsenter --net="/run/netns/$p-n$n" "$2" --socket "$work/n$n/sluice.sock" flows | tail -5
	done
fi
finish
