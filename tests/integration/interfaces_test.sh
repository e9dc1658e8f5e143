#!/usr/bin/env bash
# Rules by interface, end to end through the router: the lan host reaches
# the wan server because it arrives on lan0 and leaves by wan0 (zones of
# interfaces); a host on another interface (dmz0) using the very same
# address gets nothing through, and sluice says which chain default
# dropped it; ssh to the router is allowed by in_interface on one side only.
#
#   interfaces_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

p=if$SLUICE_TEST_ID
a=$p-a c=$p-c fw=$p-fw wan=$p-wan
work=$(mktemp -d)
pins=/sys/fs/bpf/sluice-test-$SLUICE_TEST_ID
cleanup_add "rm -rf $work $pins"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for ns in "$a" "$c" "$fw" "$wan"; do ns_new "$ns"; done

# Host a on the lan; host c on the dmz with a's address, its way to the
# wan server through the router written down (a static neighbour: the
# router's dmz0), as a spoofing host would.
veth "$a" eth0 "$fw" lan0
veth "$c" eth0 "$fw" dmz0
veth "$fw" wan0 "$wan" eth0
ip -n "$a" addr add 10.10.1.10/24 dev eth0
ip -n "$a" route add default via 10.10.1.1
ip -n "$c" addr add 10.10.1.10/24 dev eth0
ip -n "$c" route add 192.0.2.0/24 dev eth0
ip -n "$wan" addr add 192.0.2.2/24 dev eth0

cat >"$work/sluice.toml" <<'TOML'
[[interface]]
name = "lan0"
zone = "lan"
addresses = ["10.10.1.1/24"]

[[interface]]
name = "dmz0"
zone = "dmz"
addresses = ["10.20.0.1/24"]

[[interface]]
name = "wan0"
zone = "wan"
addresses = ["192.0.2.1/24"]

[router]
forwarding = true

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "lan-to-wan"
chain = "forward"
from = "zone:lan"
to = "zone:wan"
action = "accept"

[[rule]]
name = "ssh-from-lan0"
chain = "input"
in_interface = "lan0"
proto = "tcp"
port = 22
action = "accept"

[[nat]]
masquerade = { out_interface = "wan0", from = "10.10.1.0/24" }
TOML

log=$work/sluiced.log
sock=$work/sluice.sock
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 20 grep -q "running with" "$log" || { cat "$log"; exit 1; }
ctl="nsenter --net=/run/netns/$fw $SLUICECTL --socket $sock"
dmz_mac=$(ip -n "$fw" -j link show dmz0 | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['address'])")
ip -n "$c" neigh add 192.0.2.2 lladdr "$dmz_mac" dev eth0 nud permanent
ip -n "$c" route add 10.20.0.0/24 dev eth0
ip -n "$c" neigh add 10.20.0.1 lladdr "$dmz_mac" dev eth0 nud permanent

ip netns exec "$wan" "$here/peers.py" serve any 9000 "$work/wan-peers" &
cleanup_add "kill $!"
ip netns exec "$fw" "$here/peers.py" serve any 22 "$work/ssh-peers" &
cleanup_add "kill $!"
wait_for "the wan server" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/192.0.2.2/9000"
wait_for "the router's port 22" 20 ip netns exec "$fw" bash -c "exec 3<>/dev/tcp/127.0.0.1/22"
: >"$work/wan-peers"

default_drops() { # CHAIN: packets the chain's default decided
	$ctl --json rules | python3 -c "import json,sys; d=json.load(sys.stdin); print(next(x['packets'] for x in d['defaults'] if x['chain']==sys.argv[1]))" "$1"
}
rule_hits() { # RULE
	$ctl --json rules | python3 -c "import json,sys; print(next(r['packets'] for r in json.load(sys.stdin)['rules'] if r['name']==sys.argv[1]))" "$1"
}

echo "--- forward: by the interfaces a flow comes in on and leaves by"
allowed0=$(rule_hits lan-to-wan) dropped0=$(default_drops forward)
check "the lan host reaches the wan server (in on lan0, out by wan0)" \
	bash -c "echo hello | ip netns exec $a timeout 3 nc -N 192.0.2.2 9000 | grep -q hello"
# The dmz host's attempt. Its outcome proves nothing by itself (answers to
# 10.10.1.10 go to the lan whatever sluice decides); the counters below do.
echo hello | ip netns exec "$c" timeout 3 nc -N 192.0.2.2 9000 >/dev/null 2>&1
check "lan-to-wan decided the lan host's flow" test $(($(rule_hits lan-to-wan) - allowed0)) -eq 1
check "the forward default dropped the dmz host's SYNs" test $(($(default_drops forward) - dropped0)) -ge 1
check "the wan server saw one connection, masqueraded (the lan host's)" \
	bash -c "cat $work/wan-peers; test \$(grep -c '^192.0.2.1 ' $work/wan-peers) = 1"
check "the flow log says where the dropped flow came in" \
	bash -c "$ctl flows --verdict dropped | tee /dev/stderr | grep -E '10.10.1.10.*192.0.2.2.*9000' | grep -q dmz0"

echo "--- input: by the interface a packet comes in on"
ssh0=$(rule_hits ssh-from-lan0) input0=$(default_drops input)
check "ssh to the router from the lan host (in on lan0)" \
	ip netns exec "$a" timeout 3 bash -c "exec 3<>/dev/tcp/10.10.1.1/22"
check "ssh-from-lan0 decided it" test $(($(rule_hits ssh-from-lan0) - ssh0)) -eq 1
# Again the counters, not the outcome, say what sluice did.
ip netns exec "$c" timeout 3 bash -c "exec 3<>/dev/tcp/10.20.0.1/22" 2>/dev/null
ssh1=$(rule_hits ssh-from-lan0) input1=$(default_drops input)
check "ssh-from-lan0 did not decide it" test $((ssh1 - ssh0)) -eq 1
check "the input default dropped it" test $((input1 - input0)) -ge 1

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
