#!/usr/bin/env bash
# Published ports (CNI portMappings, what `podman run -p 8080:80` passes)
# become sluice port forwards: a client outside reaches a container's
# server through the firewall's address, with its own source address kept;
# the forward rules still decide; a second container cannot take the same
# host port; the mapping outlives a restart of sluiced and goes with DEL.
#
#   cni_ports_test.sh SLUICED SLUICECTL SLUICE_CNI
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

p=cpm$SLUICE_TEST_ID
fw=$p-fw web=$p-web web2=$p-web2 wan=$p-wan
test_workdir
for ns in "$fw" "$web" "$web2" "$wan"; do ns_new "$ns"; done
veth "$fw" wan0 "$wan" eth0
ip -n "$wan" addr add 192.0.2.2/24 dev eth0

cat >"$work/sluice.toml" <<'TOML'
[[interface]]
name = "wan0"
addresses = ["192.0.2.1/24"]

[containers]
ipv4 = "10.89.0.0/24"

[router]
forwarding = true

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "published-web"
chain = "forward"
to = { container = "web-*" }
proto = "tcp"
port = 80
action = "accept"
TOML

start_sluiced "$fw"

# cni COMMAND ID NETNS NAME: with port 8080 -> 80 mapped, as podman -p passes it.
cni() {
	local out
	out=$(printf '{"cniVersion": "1.0.0", "name": "box", "type": "sluice-cni", "socket": "%s", "capabilities": {"portMappings": true}, "runtimeConfig": {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": ""}]}}' "$sock" |
		CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=/run/netns/$3 CNI_IFNAME=eth0 \
			CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=$4" CNI_PATH=/usr/lib/cni "$CNI")
	echo $? >"$work/status"
	echo "$out"
}

cni ADD w1w1w1w1 "$web" web-1 >/dev/null
check "ADD web-1 with 8080 -> 80 published" test "$(cat "$work/status")" = 0
check "sluicectl endpoints shows the published port" \
	test "$($ctl --json endpoints | field 'd["endpoints"][0]["ports"]')" = "[{'container_port': 80, 'host_port': 8080, 'proto': 'tcp'}]"
ip netns exec "$web" "$here/peers.py" serve any 80 "$work/web-peers" &
cleanup_add "kill $!"
wait_for "web-1's server" 20 ip netns exec "$web" bash -c "exec 3<>/dev/tcp/10.89.0.1/80"
: >"$work/web-peers"
check "a client outside reaches web-1 at the firewall's 8080" test "$(tcp_result "$wan" 192.0.2.1 8080)" = connected
check "web-1 saw the client's own address" bash -c "cat $work/web-peers; grep -q '^192.0.2.2 ' $work/web-peers"
check "the flow names the rule, the port forward and the container" \
	bash -c "$ctl flows | tee /dev/stderr | grep published-web | grep 'fwd from 192.0.2.1:8080' | grep -q 'web-1'"
check "another port of the firewall is the input chain's (dropped)" test "$(tcp_result "$wan" 192.0.2.1 8081)" = timeout

out=$(cni ADD w2w2w2w2 "$web2" web-2)
check "a second container cannot take host port 8080" \
	bash -c "test $(cat "$work/status") != 0 && echo '$out' | grep -q 'host port 8080/tcp is published by container web-1 already'"
check "and was not wired" bash -c "! ip -n $web2 link show eth0"

echo "--- the mapping outlives a restart"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
start_sluiced "$fw" 2
check "web-1 is reached at 8080 after the restart" test "$(tcp_result "$wan" 192.0.2.1 8080)" = connected

echo "--- DEL takes it away"
cni DEL w1w1w1w1 "$web" web-1 >/dev/null
check "DEL web-1" test "$(cat "$work/status")" = 0
check "8080 leads nowhere now" test "$(tcp_result "$wan" 192.0.2.1 8080)" = timeout
cni ADD w2w2w2w2 "$web2" web-2 >/dev/null
check "the port is free for web-2" test "$(cat "$work/status")" = 0
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
