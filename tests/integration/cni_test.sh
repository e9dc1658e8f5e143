#!/usr/bin/env bash
# Containers wired by sluice-cni through a running sluiced: two network
# namespaces stand for containers (as a runtime would make them), the
# plugin is called as a runtime calls it. ADD gives each an address from
# [containers], a link to the firewall's namespace and sluice's programs
# on its host end; the forward rules decide their traffic; CHECK, DEL
# (twice, and with no netns as containerd sends it) and GC clean up.
#
#   cni_test.sh SLUICED SLUICECTL SLUICE_CNI
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

p=cni$SLUICE_TEST_ID
fw=$p-fw c1=$p-c1 c2=$p-c2 c3=$p-c3 wan=$p-wan
test_workdir
for ns in "$fw" "$c1" "$c2" "$c3" "$wan"; do ns_new "$ns"; done
# The outside: a server on the firewall's wan0.
veth "$fw" wan0 "$wan" eth0
ip -n "$wan" addr add 192.0.2.2/24 dev eth0

cat >"$work/sluice.toml" <<'TOML'
[[interface]]
name = "wan0"
addresses = ["192.0.2.1/24"]

[containers]
ipv4 = "10.89.0.0/24"
ipv6 = "fd00:89::/64"
masquerade = "wan0"

[router]
forwarding = true

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "containers-out"
chain = "forward"
from = "10.89.0.0/24"
to = "192.0.2.0/24"
proto = "tcp"
port = 9000
action = "accept"

[[rule]]
name = "c1-to-c2-web"
chain = "forward"
from = "10.89.0.1"
to = "10.89.0.2"
proto = "tcp"
port = 8080
action = "accept"
TOML

start_sluiced "$fw"
net_conf() { printf '{"cniVersion": "%s", "name": "box", "type": "sluice-cni", "socket": "%s", "pending_dir": "%s"%s}' "${1:-1.1.0}" "$sock" "$work/cni-pending" "${2:-}"; }

# cni COMMAND CONTAINER_ID NETNS [IFNAME]: the plugin's stdout; its exit
# status in $work/status.
cni() {
	local out
	out=$(net_conf | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=${4:-eth0} \
		CNI_PATH=/usr/lib/cni "$CNI")
	echo $? >"$work/status"
	echo "$out"
}
status() { cat "$work/status"; }
host_end() { ip -n "$fw" -o link | grep -o "sl[0-9a-f]\{12\}" | sort -u; }

echo "--- STATUS and ADD"
check "STATUS: sluiced can wire containers" bash -c "printf '%s' '$(net_conf)' | CNI_COMMAND=STATUS $CNI"
r1=$(cni ADD c1c1c1c1 "/run/netns/$c1")
check "ADD c1 succeeds" test "$(status)" = 0
echo "     $r1"
check "c1 got the pool's first address" test "$(echo "$r1" | field 'd["ips"][0]["address"]')" = 10.89.0.1/32
check "and an IPv6 one" test "$(echo "$r1" | field 'd["ips"][1]["address"]')" = fd00:89::1/128
check "the result names c1's namespace" test "$(echo "$r1" | field 'd["interfaces"][1]["sandbox"]')" = "/run/netns/$c1"
check "c1's eth0 holds it" bash -c "ip -n $c1 -o addr show dev eth0 | grep -q 10.89.0.1/32"
r2=$(cni ADD c2c2c2c2 "/run/netns/$c2")
check "ADD c2 gets the next address" test "$(echo "$r2" | field 'd["ips"][0]["address"]')" = 10.89.0.2/32
check "sluice's tc programs are on both host ends" \
	bash -c "for h in $(host_end | tr '\n' ' '); do ip netns exec $fw tc filter show dev \$h ingress | grep -q sluice || exit 1; done"

echo "--- the forward rules decide the containers' traffic"
ip netns exec "$c2" "$here/peers.py" serve any 8080 "$work/c2-peers" &
cleanup_add "kill $!"
ip netns exec "$c1" "$here/peers.py" serve any 8080 "$work/c1-peers" &
cleanup_add "kill $!"
wait_for "c2's server" 20 ip netns exec "$c2" bash -c "exec 3<>/dev/tcp/10.89.0.2/8080"
wait_for "c1's server" 20 ip netns exec "$c1" bash -c "exec 3<>/dev/tcp/10.89.0.1/8080"
forward_drops() {
	$ctl --json rules | python3 -c "import json,sys; print(next(x['packets'] for x in json.load(sys.stdin)['defaults'] if x['chain'] == 'forward'))"
}
check "c1 reaches c2 on 8080 (c1-to-c2-web)" test "$(tcp_result "$c1" 10.89.0.2 8080)" = connected
drops0=$(forward_drops)
check "c2 does not reach c1" test "$(tcp_result "$c2" 10.89.0.1 8080)" = timeout
check "the forward default dropped c2's SYNs" test $(($(forward_drops) - drops0)) -ge 1
check "the flow log names the rule" bash -c "$ctl flows | grep 10.89.0.1 | grep -q c1-to-c2-web"

echo "--- the outside sees containers by the firewall's address"
ip netns exec "$wan" "$here/peers.py" serve any 9000 "$work/wan-peers" &
cleanup_add "kill $!"
wait_for "the wan server" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/192.0.2.2/9000"
: >"$work/wan-peers"
check "c1 reaches the wan server" test "$(tcp_result "$c1" 192.0.2.2 9000)" = connected
check "which saw the firewall's address, not c1's" \
	bash -c "cat $work/wan-peers; grep -q '^192.0.2.1 ' $work/wan-peers && ! grep -q 10.89 $work/wan-peers"

echo "--- CHECK, DEL, GC"
cni CHECK c1c1c1c1 "/run/netns/$c1" >/dev/null
check "CHECK c1 passes" test "$(status)" = 0
cni CHECK c9c9c9c9 "/run/netns/$c3" >"$work/out"
check "CHECK of a container never added fails with sluice's code" bash -c "test $(status) != 0 && grep -q '\"code\":100' $work/out"
cni DEL c1c1c1c1 "/run/netns/$c1" >/dev/null
check "DEL c1 succeeds" test "$(status)" = 0
check "c1's eth0 is gone" bash -c "! ip -n $c1 link show eth0"
cni DEL c1c1c1c1 "/run/netns/$c1" >/dev/null
check "a second DEL succeeds too" test "$(status)" = 0
cni DEL c1c1c1c1 "" >/dev/null
check "a DEL without a netns (containerd) succeeds" test "$(status)" = 0
r3=$(cni ADD c3c3c3c3 "/run/netns/$c3")
check "the released address is given again" test "$(echo "$r3" | field 'd["ips"][0]["address"]')" = 10.89.0.1/32
out=$(net_conf 1.1.0 ', "cni.dev/valid-attachments": [{"containerID": "c3c3c3c3", "ifname": "eth0"}]' |
	CNI_COMMAND=GC "$CNI")
check "GC succeeds" test $? = 0
check "GC took c2 (not valid) and kept c3" bash -c "! ip -n $c2 link show eth0 && ip -n $c3 link show eth0"
check "one host end left" test "$(host_end | wc -l)" = 1

echo "--- sluicectl endpoints"
check "sluicectl endpoints lists c3 with its addresses" \
	bash -c "$ctl endpoints | tee /dev/stderr | grep c3c3c3c3 | grep 10.89.0.1 | grep -q fd00:89::1"
check "and only c3" test "$($ctl --json endpoints | field 'len(d["endpoints"])')" = 1

echo "--- anti-spoofing"
spoofed() {
	$ctl --json counters | python3 -c "import json,sys; print(next(d['packets'] for d in json.load(sys.stdin)['drops'] if d['reason'] == 'spoofed'))"
}
ip -n "$c3" addr add 10.89.0.77/32 dev eth0
s0=$(spoofed)
ip netns exec "$c3" ping -c1 -W1 -I 10.89.0.1 169.254.1.1 >/dev/null 2>&1
check "c3's own address is not spoofed (the input default drops it)" test "$(spoofed)" = "$s0"
ip netns exec "$c3" ping -c1 -W1 -I 10.89.0.77 169.254.1.1 >/dev/null 2>&1
check "another source from c3 is dropped as spoofed" test $(($(spoofed) - s0)) -ge 1

r2=$(cni ADD c2c2c2c2 "/run/netns/$c2")
check "c2 wired again, before sluiced goes" test "$(status)" = 0

echo "--- without sluiced"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
out=$(cni ADD c4c4c4c4 "/run/netns/$c1")
check "ADD is refused: try again later" bash -c "test $(status) != 0 && echo '$out' | grep -q '\"code\":11'"
cni DEL c3c3c3c3 "/run/netns/$c3" >/dev/null
check "DEL succeeds, kept for sluiced" bash -c "test $(status) = 0 && ls $work/cni-pending/c3c3c3c3-*.json"
check "c3 is still wired meanwhile" ip -n "$c3" link show eth0

echo "--- sluiced back: it finishes the DEL"
start_sluiced "$fw" 2
check "c3's link is gone" bash -c "! ip -n $c3 link show eth0"
check "the record is gone" bash -c "! ls $work/cni-pending/*.json"
check "c2 is the one endpoint left" \
	test "$($ctl --json endpoints | field '[e["container_id"] for e in d["endpoints"]]')" = "['c2c2c2c2']"
check "the log says so" grep -q "finished the DEL of container c3c3c3c3" "$log"
ip -n "$c2" addr add 10.89.0.88/32 dev eth0
s1=$(spoofed)
ip netns exec "$c2" ping -c1 -W1 -I 10.89.0.88 169.254.1.1 >/dev/null 2>&1
check "c2, taken back after the restart, is still checked for spoofing" test $(($(spoofed) - s1)) -ge 1
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
