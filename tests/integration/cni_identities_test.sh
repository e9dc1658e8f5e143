#!/usr/bin/env bash
# Workload identities through a running sluiced: three "containers"
# (namespaces wired by sluice-cni as a runtime would: K8S_POD_NAME names
# them, one passes labels the CNI way) under rules that select containers
# by labels and by name. The frontend reaches the api on TCP 80, the third
# container is dropped; flows and conntrack name both ends; the identities
# map holds their addresses; a label change in the configuration lets the
# third one in without re-attaching anything; a DEL takes its entries away.
#
#   cni_identities_test.sh SLUICED SLUICECTL SLUICE_CNI
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

p=cid$SLUICE_TEST_ID
fw=$p-fw front=$p-front api=$p-api other=$p-other
test_workdir
for ns in "$fw" "$front" "$api" "$other"; do ns_new "$ns"; done

# config FRONTEND_GLOB: frontends are the containers matching it.
config() {
	cat <<TOML
[containers]
ipv4 = "10.89.0.0/24"
ipv6 = "fd00:89::/64"

[router]
forwarding = true

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[endpoint]]
match = { container = "$1" }
labels = { app = "frontend" }

[[rule]]
name = "frontend-to-api"
chain = "forward"
from = { labels = { app = "frontend" } }
to = { labels = { app = "api" }, container = "api-*" }
proto = "tcp"
port = 80
action = "accept"

[[rule]]
name = "nothing-else-to-api"
chain = "forward"
to = { labels = { app = "api" } }
action = "drop"
log = true
TOML
}
config "front-*" >"$work/sluice.toml"

start_sluiced "$fw"

# add ID NETNS NAME [ARGS_JSON]: ADD as podman does it (K8S_POD_NAME).
add() {
	printf '{"cniVersion": "1.0.0", "name": "box", "type": "sluice-cni", "socket": "%s"%s}' "$sock" "${4:-}" |
		CNI_COMMAND=ADD CNI_CONTAINERID=$1 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$3;K8S_POD_NAME=$3" CNI_PATH=/usr/lib/cni "$CNI"
}
identity_entries() { bpftool -j map dump pinned "$pins/identities" | field 'len(d)'; }

echo "--- three containers, labelled by the configuration and by their runtime"
check "ADD front-1" add f1f1f1f1 "$front" front-1 >/dev/null
check "ADD api-1, with labels the CNI way (args.cni.labels)" add a1a1a1a1 "$api" api-1 \
	', "args": {"cni": {"labels": [{"key": "app", "value": "api"}, {"key": "bad key", "value": "x"}]}}' >/dev/null
check "ADD other-1" add o1o1o1o1 "$other" other-1 >/dev/null
check "sluicectl endpoints shows names, labels and identities" \
	bash -c "$ctl endpoints | tee /dev/stderr | grep front-1 | grep -q 'app=frontend  *25[6-9]'"
eps=$($ctl --json endpoints)
ident() { echo "$eps" | field "next(e['$1'] for e in d['endpoints'] if e['name'] == '$2')"; }
check "front-1 has app=frontend from [[endpoint]]" test "$(ident labels front-1)" = "{'app': 'frontend'}"
check "api-1 has the runtime's app=api (the malformed label left out)" test "$(ident labels api-1)" = "{'app': 'api'}"
check "other-1 has no labels" test "$(ident labels other-1)" = "{}"
check "distinct label sets, distinct identities" \
	test "$(echo "$eps" | field 'len({e["identity"] for e in d["endpoints"]})')" = 3
check "the identities map holds the 6 addresses" test "$(identity_entries)" = 6
check "the log says why a label was left out" grep -q "label 'bad key' left out" "$log"

echo "--- rules select containers by labels and names"
ip netns exec "$api" "$here/peers.py" serve any 80 "$work/api-peers" &
cleanup_add "kill $!"
wait_for "the api's server" 20 ip netns exec "$api" bash -c "exec 3<>/dev/tcp/10.89.0.2/80"
check "front-1 reaches api-1 on 80" test "$(tcp_result "$front" 10.89.0.2 80)" = connected
check "and over IPv6" test "$(tcp_result "$front" fd00:89::2 80)" = connected
check "other-1 is dropped" test "$(tcp_result "$other" 10.89.0.2 80)" = timeout
flows=$($ctl --json flows)
check "the allowed flow names the rule and both containers" bash -c "echo '$flows' | python3 -c '
import json, sys
fs = [f for f in json.load(sys.stdin)[\"flows\"] if f[\"verdict\"] == \"allowed\" and f[\"dst\"] == \"10.89.0.2\"]
f = fs[-1]
assert f[\"rule\"] == \"frontend-to-api\", f
assert f[\"src_workload\"] == \"front-1 (app=frontend)\", f
assert f[\"dst_workload\"] == \"api-1 (app=api)\", f
assert f[\"src_identity\"] >= 256 and f[\"dst_identity\"] >= 256, f'"
check "the drop names the rule and other-1" bash -c "$ctl flows --verdict dropped | tee /dev/stderr | grep nothing-else-to-api | grep -q 'other-1'"
check "conntrack names the containers" bash -c "$ctl conntrack | tee /dev/stderr | grep 'front-1 (app=frontend)' | grep -q 'api-1 (app=api)'"

echo "--- a label change re-identifies without re-attaching"
host_other=$(echo "$eps" | field "next(e['host_end'] for e in d['endpoints'] if e['name'] == 'other-1')")
ifindex_before=$(ip -n "$fw" -o link show "$host_other" | cut -d: -f1)
prog_before=$(ip netns exec "$fw" tc filter show dev "$host_other" ingress | grep -o 'id [0-9]*')
config "*-1" >"$work/sluice.toml"
check "apply: [[endpoint]] now matches every *-1" $ctl apply
# The configuration's labels win over the runtime's for the same key:
# api-1 is app=frontend now, and the rules to app=api select nobody.
eps=$($ctl --json endpoints)
check "other-1 is a frontend now" test "$(ident labels other-1)" = "{'app': 'frontend'}"
check "front-1 and other-1 share an identity" test "$(ident identity other-1)" = "$(ident identity front-1)"
check "the configuration's label won over api-1's own" test "$(ident labels api-1)" = "{'app': 'frontend'}"
check "nothing was re-attached (same host end, same program)" bash -c "
	test \"\$(ip -n $fw -o link show $host_other | cut -d: -f1)\" = '$ifindex_before' &&
	test \"\$(ip netns exec $fw tc filter show dev $host_other ingress | grep -o 'id [0-9]*')\" = '$prog_before'"
check "no container is app=api: the api rules select nothing, the default drops" \
	test "$(tcp_result "$front" 10.89.0.2 80)" = timeout
config "other-*" >"$work/sluice.toml"
check "apply: only other-* are frontends" $ctl apply
check "other-1 now reaches api-1" test "$(tcp_result "$other" 10.89.0.2 80)" = connected
check "front-1 no longer does" test "$(tcp_result "$front" 10.89.0.2 80)" = timeout

echo "--- containers going take their identities with them"
printf '{"cniVersion": "1.0.0", "name": "box", "type": "sluice-cni", "socket": "%s"}' "$sock" |
	CNI_COMMAND=DEL CNI_CONTAINERID=a1a1a1a1 CNI_NETNS=/run/netns/$api CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$CNI"
check "DEL api-1: its 2 addresses left the identities map" test "$(identity_entries)" = 4
check "and the rule selecting it selects nobody: other-1 is dropped" \
	test "$(tcp_result "$other" 10.89.0.2 80)" = timeout
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"

echo "--- after a restart the identities come back from the state database"
start_sluiced "$fw" 2
eps=$($ctl --json endpoints)
check "front-1 and other-1 are back with their labels" \
	bash -c "test \"$(ident labels other-1)\" = \"{'app': 'frontend'}\" && test \"$(ident labels front-1)\" = '{}'"
check "the identities map holds their 4 addresses" test "$(identity_entries)" = 4
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
