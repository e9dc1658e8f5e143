#!/usr/bin/env bash
# sluiced as the router of a small site: two lan hosts behind a switch,
# the router, and a server on the wan side that has no route to the lan.
# Masquerade (seen from the server), TTL and ICMP errors through the
# router, a port forward from the wan, hairpin from the lan, IPv6
# forwarding, the XDP fast path carrying established flows (counters), and
# 2,000 concurrent masqueraded connections from two hosts using the same
# source ports.
#
#   router_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

p=rt$SLUICE_TEST_ID
a=$p-a b=$p-b sw=$p-sw fw=$p-fw wan=$p-wan
work=$(mktemp -d)
pins=/sys/fs/bpf/sluice-test-$SLUICE_TEST_ID
cleanup_add "rm -rf $work $pins"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for ns in "$a" "$b" "$sw" "$fw" "$wan"; do ns_new "$ns"; done

# The lan: hosts a and b and the router's lan0 on a bridge.
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
veth "$a" eth0 "$sw" pa
veth "$b" eth0 "$sw" pb
veth "$fw" lan0 "$sw" pfw
for port in pa pb pfw; do ip -n "$sw" link set "$port" master br0; done
ip -n "$a" addr add 10.10.1.10/24 dev eth0
ip -n "$a" addr add fd00:10:1::10/64 dev eth0 nodad
ip -n "$b" addr add 10.10.1.11/24 dev eth0
for h in "$a" "$b"; do ip -n "$h" route add default via 10.10.1.1; done
ip -n "$a" -6 route add default via fd00:10:1::1

# The wan: the server knows only its own subnet (so only masquerade can
# bring lan traffic back) and, for IPv6, which is routed, the lan prefix.
veth "$fw" wan0 "$wan" eth0
ip -n "$wan" addr add 192.0.2.2/24 dev eth0
ip -n "$wan" addr add 2001:db8:2::2/64 dev eth0 nodad
ip -n "$wan" -6 route add fd00:10:1::/64 via 2001:db8:2::1

# A veth receives frames redirected by XDP only when its peer has NAPI on:
# GRO (or an XDP program) on the far ends of the router's interfaces.
ip netns exec "$sw" ethtool -K pfw gro on >/dev/null
ip netns exec "$wan" ethtool -K eth0 gro on >/dev/null
# Hosts on a wire send complete checksums; veth would leave them to
# "hardware" (CHECKSUM_PARTIAL), which a frame XDP redirects never meets.
for h in "$a" "$b" "$wan"; do ip netns exec "$h" ethtool -K eth0 tx off >/dev/null; done

cat >"$work/sluice.toml" <<'TOML'
[[interface]]
name = "lan0"
zone = "lan"
addresses = ["10.10.1.1/24", "fd00:10:1::1/64"]

[[interface]]
name = "wan0"
addresses = ["192.0.2.1/24", "2001:db8:2::1/64"]

[zones.lan]
networks = ["10.10.1.0/24", "fd00:10:1::/64"]

[router]
forwarding = true
fast_path = "on"

[chains]
input = "accept"
forward = "drop"
output = "accept"

[[rule]]
name = "no-9001"
chain = "forward"
to = "192.0.2.2"
proto = "tcp"
port = 9001
action = "drop"

[[rule]]
name = "reject-9002"
chain = "forward"
to = "192.0.2.2"
proto = "tcp"
port = 9002
action = "reject"

[[rule]]
name = "lan-out"
chain = "forward"
from = "zone:lan"
action = "accept"

[[rule]]
name = "web-in"
chain = "forward"
to = "10.10.1.10"
proto = "tcp"
port = 80
action = "accept"

[[nat]]
masquerade = { out_interface = "wan0", from = "10.10.1.0/24" }

[[nat]]
port_forward = { in_interface = "wan0", proto = "tcp", port = 8080, to = "10.10.1.10", to_port = 80 }

# Nothing listens there: the inside host answers port unreachable.
[[rule]]
name = "udp-in"
chain = "forward"
to = "10.10.1.10"
proto = "udp"
port = 5353
action = "accept"

[[nat]]
port_forward = { in_interface = "wan0", proto = "udp", port = 5353, to = "10.10.1.10" }
TOML

log=$work/sluiced.log
sock=$work/sluice.sock
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 20 grep -q "running with" "$log" || { cat "$log"; exit 1; }
wait_for "the router's IPv6 addresses" 10 bash -c "! ip -n $fw -6 addr show tentative | grep -q inet6"
ctl="nsenter --net=/run/netns/$fw $SLUICECTL --socket $sock"

# Servers: an echo server on the wan that logs who connects, a web server
# on lan host a that logs who asks.
ip netns exec "$wan" "$here/peers.py" serve any 9000 "$work/wan-peers" &
cleanup_add "kill $!"
mkdir "$work/www" && echo "inside web" >"$work/www/index.html"
ip netns exec "$a" python3 -m http.server 80 --directory "$work/www" 2>"$work/web.log" >/dev/null &
cleanup_add "kill $!"
wait_for "the wan server" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/192.0.2.2/9000"
wait_for "the lan web server" 20 ip netns exec "$a" bash -c "exec 3<>/dev/tcp/10.10.1.10/80"
: >"$work/wan-peers"

echo "--- masquerade"
check "a lan host reaches the wan server" \
	bash -c "echo hello | ip netns exec $b timeout 3 nc -N 192.0.2.2 9000 | grep -q hello"
check "the server sees the router's address, not the lan host's" \
	bash -c "grep -q '^192.0.2.1 ' $work/wan-peers && ! grep -q '^10.10.1' $work/wan-peers"
check "ping through the router" ip netns exec "$a" ping -c1 -W2 -q 192.0.2.2
check "the router decrements the TTL (64 -> 63)" \
	bash -c "ip netns exec $a ping -c1 -W2 192.0.2.2 | grep -q 'ttl=63'"
check "a TTL that expires at the router gets time-exceeded" \
	bash -c "ip netns exec $a ping -c1 -W2 -t1 192.0.2.2 | grep -qi 'time to live exceeded'"
check "traceroute shows the router, then the server (its port unreachable translated back)" \
	bash -c "ip netns exec $a traceroute -n -q1 -w2 -m3 192.0.2.2 | tee /dev/stderr | awk 'NR==2 && \$2==\"10.10.1.1\" {r=1} NR==3 && \$2==\"192.0.2.2\" {s=1} END {exit !(r && s)}'"
check "a UDP port unreachable from the server reaches the masqueraded client" \
	test "$(udp_result "$a" 192.0.2.2 9999)" = refused

echo "--- port forward and hairpin"
check "a wan client reaches the lan web server through the port forward" \
	bash -c "ip netns exec $wan curl -sf --max-time 3 http://192.0.2.1:8080/ | grep -q 'inside web'"
check "the web server sees the wan client's own address" grep -q "^192.0.2.2 " "$work/web.log"
check "hairpin: lan host b reaches the web server by the public address" \
	bash -c "ip netns exec $b curl -sf --max-time 3 http://192.0.2.1:8080/ | grep -q 'inside web'"
check "and the web server saw the router (hairpin masquerade), so its answer came back through it" \
	grep -q "^10.10.1.1 " "$work/web.log"
check "hairpin from the web server's own host" \
	bash -c "ip netns exec $a curl -sf --max-time 3 http://192.0.2.1:8080/ | grep -q 'inside web'"
check "an inside host's port unreachable reaches the wan client as from the public address" \
	test "$(udp_result "$wan" 192.0.2.1 5353)" = refused
check_not "the wan cannot reach the lan host's other ports" \
	ip netns exec "$wan" timeout 3 bash -c "exec 3<>/dev/tcp/192.0.2.1/22"

echo "--- IPv6 forwarding (routed, no NAT)"
check "ping6 through the router" ip netns exec "$a" ping -6 -c1 -W2 -q 2001:db8:2::2
check "TCP over IPv6 through the router" \
	bash -c "echo hi6 | ip netns exec $a timeout 3 nc -N 2001:db8:2::2 9000 | grep hi6"
check "the server sees the lan host's own IPv6 address (masquerade is for the IPv4 lan)" \
	grep "^fd00:10:1::10 " "$work/wan-peers"
check "conntrack --filter finds the IPv6 flows, however the address is written" \
	bash -c "$ctl conntrack --filter 2001:0db8:2:0::2 | grep -q 'fd00:10:1::10.*2001:db8:2::2'"

echo "--- XDP fast path: flows by XDP, exceptions and what policy refuses by the kernel"
counter() { # SECTION WHAT: packets of one row of sluicectl counters
	$ctl --json counters | python3 -c "import json,sys; print(next(x['packets'] for x in json.load(sys.stdin)[sys.argv[1]] if x.get('what', x.get('reason'))==sys.argv[2]))" "$1" "$2"
}
rule_hits() { # RULE
	$ctl --json rules | python3 -c "import json,sys; print(next(r['packets'] for r in json.load(sys.stdin)['rules'] if r['name']==sys.argv[1]))" "$1"
}
head -c 3000000 /dev/urandom >"$work/www/big"
want=$(sha256sum <"$work/www/big")
xdp0=$(counter fast_path "forwarded by XDP") rule0=$(rule_hits lan-out)
check "a 3 MB echo through masquerade comes back intact" \
	bash -c "ip netns exec $a timeout 20 nc -N 192.0.2.2 9000 <$work/www/big | sha256sum | grep -q '${want%% *}'"
xdp1=$(counter fast_path "forwarded by XDP") rule1=$(rule_hits lan-out)
echo "     XDP forwarded $((xdp1 - xdp0)) packets; rule lan-out decided $((rule1 - rule0))"
# This check once failed in a full suite (nc returned early, lan-out decided
# twice): a packet on one CPU found the flow stamped by the other CPU after
# its own clock read, took it for expired and ended it mid-stream (fixed in
# conntrack.h ct_expired; datapath test Events.AFlowStampedLaterThan...).
# Should a flow be decided twice again, what the datapath saw says why: each
# decision with its ports and masquerade, the tracked flows, the drops.
if ((rule1 - rule0 > 1)); then
	echo "     flows to port 9000:"
	$ctl flows --port 9000 | tail -8 | sed 's/^/     | /'
	echo "     conntrack of 10.10.1.10:"
	$ctl conntrack --filter 10.10.1.10 | sed 's/^/     | /'
	$ctl counters | sed 's/^/     | /'
fi
check "XDP forwarded the established flow (> 1000 packets)" test $((xdp1 - xdp0)) -gt 1000
check "policy (tc) saw only the flow's first packet" test $((rule1 - rule0)) -le 2
check "a 3 MB download through the port forward is intact, mostly by XDP" \
	bash -c "ip netns exec $wan curl -sf --max-time 20 http://192.0.2.1:8080/big | sha256sum | grep -q '${want%% *}'"
xdp2=$(counter fast_path "forwarded by XDP")
check "XDP forwarded it (> 1000 packets)" test $((xdp2 - xdp1)) -gt 1000
check "a 3 MB download by hairpin is intact" \
	bash -c "ip netns exec $b curl -sf --max-time 20 http://192.0.2.1:8080/big | sha256sum | grep -q '${want%% *}'"
xdp3=$(counter fast_path "forwarded by XDP")
check "XDP forwarded the hairpin flow (> 1000 packets)" test $((xdp3 - xdp2)) -gt 1000
check "a 3 MB echo over IPv6 is intact" \
	bash -c "ip netns exec $a timeout 20 nc -N 2001:db8:2::2 9000 <$work/www/big | sha256sum | grep -q '${want%% *}'"
xdp4=$(counter fast_path "forwarded by XDP")
check "XDP forwarded the IPv6 flow (> 1000 packets)" test $((xdp4 - xdp3)) -gt 1000
# A UDP flow: its later datagrams take the fast path, which must
# decrement the TTL and keep the (checked) UDP checksum right; one whose
# TTL expires at the router goes to the kernel, which answers
# time-exceeded.
ip netns exec "$wan" python3 - "$work/udp-seen" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)  # not in every Python
s.bind(("192.0.2.2", 45001))
s.settimeout(10)
with open(sys.argv[1], "w", buffering=1) as out:
    try:
        while True:
            data, anc, _, peer = s.recvmsg(100, socket.CMSG_SPACE(4))
            ttl = int.from_bytes(anc[0][2][:4], sys.byteorder) if anc else -1
            out.write(f"{peer[0]} ttl={ttl}\n")
    except socket.timeout:
        pass
PY
udp_sink=$!
sleep 0.5
ttl0=$(counter fast_path "to kernel: TTL") xdp0=$(counter fast_path "forwarded by XDP")
new0=$(counter fast_path "new flows by XDP")
exceeded0=$(ip netns exec "$fw" nstat -az IcmpOutTimeExcds | awk '/IcmpOutTimeExcds/ {print $2}')
ip netns exec "$a" python3 - <<'PY'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 45000))
for ttl in (64, 64, 64, 64, 1):
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    s.sendto(b"x" * 100, ("192.0.2.2", 45001))
    time.sleep(0.2)
PY
ttl1=$(counter fast_path "to kernel: TTL") xdp1=$(counter fast_path "forwarded by XDP")
new1=$(counter fast_path "new flows by XDP")
exceeded1=$(ip netns exec "$fw" nstat -az IcmpOutTimeExcds | awk '/IcmpOutTimeExcds/ {print $2}')
kill $udp_sink 2>/dev/null
check "the server got the 4 datagrams with TTL 64, from the router, TTL 63" \
	bash -c "cat $work/udp-seen; test \$(grep -c '^192.0.2.1 ttl=63$' $work/udp-seen) = 4"
check "the first was decided by XDP (policy, conntrack, masquerade), the other 3 forwarded by it" \
	test "$((new1 - new0)) $((xdp1 - xdp0))" = "1 3"
check "the datagram whose TTL expires at the router is left to the kernel" test $((ttl1 - ttl0)) -eq 1
check "which answered time-exceeded" test $((exceeded1 - exceeded0)) -ge 1
# XDP reports the flow and its masquerade in one event; the records must
# read as tc's two do.
$ctl --json flows --port 45001 >"$work/xdp-flows.json"
check "the XDP-decided flow has its records: allowed by lan-out on lan0, translated on wan0" \
	python3 - "$work/xdp-flows.json" <<'PY'
import json, sys
flows = json.load(open(sys.argv[1]))["flows"]
mine = [f for f in flows if f["src"] == "10.10.1.10" and f["sport"] == 45000 and f["dport"] == 45001]
allowed = [f for f in mine if f["verdict"] == "allowed"]
translated = [f for f in mine if f["verdict"] == "translated"]
assert len(allowed) == 1 and allowed[0]["rule"] == "lan-out" and allowed[0]["interface"] == "lan0", mine
assert len(translated) == 1 and translated[0]["interface"] == "wan0", mine
assert translated[0]["nat"]["kind"] == "masquerade" and translated[0]["nat"]["addr"] == "192.0.2.1", mine
PY

# The router's own datagram from the address and port a live masquerade
# translation holds towards that server (a resolver on the router picks
# its source ports across the whole range) is dropped as nat-failed; the
# lan host's flow keeps its answers.
ip netns exec "$wan" python3 - "$work/echo-seen" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", 45201))
s.settimeout(8)
with open(sys.argv[1], "w", buffering=1) as out:
    try:
        while True:
            data, peer = s.recvfrom(100)
            out.write(f"{peer[0]}:{peer[1]} {data.decode()}\n")
            s.sendto(data, peer)
    except socket.timeout:
        pass
PY
echo_server=$!
sleep 0.5
lan_echo() {  # lan host a, source port 20300: prints the answers it gets within a second
	ip netns exec "$a" python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 20300))
s.settimeout(1)
s.sendto(sys.argv[1].encode(), ("192.0.2.2", 45201))
try:
    while True:
        print(s.recv(100).decode())
except socket.timeout:
    pass
PY
}
held0=$(counter drops nat-failed)
check "a lan host's datagram from port 20300 is answered" test "$(lan_echo lan-1)" = lan-1
ip netns exec "$fw" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.1", 20300))
s.sendto(b"router-1", ("192.0.2.2", 45201))
PY
sleep 0.3
check "the router's own datagram from 192.0.2.1:20300 to the same server is dropped as nat-failed" \
	test $(($(counter drops nat-failed) - held0)) -eq 1
check "the lan host's next datagram is still answered, to it alone" test "$(lan_echo lan-2)" = lan-2
kill $echo_server 2>/dev/null
check "the server saw the lan host's datagrams, masqueraded to port 20300, and not the router's" \
	bash -c "cat $work/echo-seen; test \"\$(cut -d' ' -f1,2 $work/echo-seen | tr '\n' ' ')\" = '192.0.2.1:20300 lan-1 192.0.2.1:20300 lan-2 '"

# Too big for the way out: a datagram of an established flow larger than
# wan0's MTU, with DF set, is left to the kernel, which answers
# fragmentation-needed.
ip -n "$fw" link set wan0 mtu 1400
mtu0=$(counter fast_path "to kernel: MTU")
unreach0=$(ip netns exec "$fw" nstat -az IcmpOutDestUnreachs | awk '/IcmpOutDestUnreachs/ {print $2}')
ip netns exec "$a" python3 - <<'PY'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 45100))
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF set
for size in (100, 100, 1450):
    try:
        s.sendto(b"x" * size, ("192.0.2.2", 45101))
    except OSError:
        pass
    time.sleep(0.2)
PY
mtu1=$(counter fast_path "to kernel: MTU")
unreach1=$(ip netns exec "$fw" nstat -az IcmpOutDestUnreachs | awk '/IcmpOutDestUnreachs/ {print $2}')
ip -n "$fw" link set wan0 mtu 1500
check "a packet too big for the way out is left to the kernel" test $((mtu1 - mtu0)) -eq 1
check "which answered fragmentation-needed" test $((unreach1 - unreach0)) -ge 1

# First packets policy does not simply accept are left to tc, which
# drops or rejects them as before.
new0=$(counter fast_path "new flows by XDP") drops0=$(counter drops policy-rule)
check "a forwarded connection a rule drops times out" test "$(tcp_result "$b" 192.0.2.2 9001)" = timeout
check "one a rule rejects is refused" test "$(tcp_result "$b" 192.0.2.2 9002)" = refused
new1=$(counter fast_path "new flows by XDP") drops1=$(counter drops policy-rule)
check "XDP left them to tc" test $((new1 - new0)) -eq 0
check "which counted the drops" test $((drops1 - drops0)) -ge 2

echo "--- visible in sluicectl"
ip netns exec "$b" "$here/peers.py" hold 192.0.2.2 9000 41000 1 "$work/release-one" >/dev/null &
wait_for "a held connection" 10 bash -c "$ctl conntrack --filter 10.10.1.11 | grep -q '10.10.1.11:41000 '"
check "conntrack shows a masqueraded flow with its translation" \
	bash -c "$ctl conntrack --filter 10.10.1.11; $ctl conntrack --filter 10.10.1.11 | grep -E '10.10.1.11:41000 +192.0.2.2:9000 +masq as 192.0.2.1:[0-9]+'"
ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/192.0.2.1/8080; sleep 5" &
wait_for "a port-forwarded flow" 10 bash -c "$ctl conntrack | grep -q 'fwd from 192.0.2.1:8080'"
check "conntrack shows a port-forwarded flow with the address the client used" \
	bash -c "$ctl conntrack | grep -E '192.0.2.2:[0-9]+ +10.10.1.10:80 +fwd from 192.0.2.1:8080'"
touch "$work/release-one"
$ctl counters | sed -n '/^NAT/,$p'
check "NAT counters count masquerade, port forwards and hairpin" \
	bash -c "$ctl counters | awk '/^new masquerade/ && \$3>0 {m=1} /^new port forward/ && \$4>0 {f=1} /^new hairpin/ && \$3>0 {h=1} END {exit !(m && f && h)}'"

echo "--- 2,000 concurrent connections, two hosts, the same source ports"
: >"$work/wan-peers"
ip netns exec "$a" "$here/peers.py" hold 192.0.2.2 9000 20000 1000 "$work/release" >"$work/held-a" &
holders=$!
ip netns exec "$b" "$here/peers.py" hold 192.0.2.2 9000 20000 1000 "$work/release" >"$work/held-b" &
holders="$holders $!"
wait_for "both hosts to hold their connections" 60 bash -c "grep -q held $work/held-a && grep -q held $work/held-b"
check "host a holds 1000 connections" grep -qx "held 1000" "$work/held-a"
check "host b holds 1000 connections from the same ports" grep -qx "held 1000" "$work/held-b"
check "the server saw 2000 connections, all from the router" \
	bash -c "wc -l <$work/wan-peers; cut -d' ' -f1 $work/wan-peers | sort | uniq -c; test \$(grep -c '^192.0.2.1 ' $work/wan-peers) = 2000"
check "with 2000 distinct translated source ports" \
	bash -c "sort $work/wan-peers | uniq -d | head; test \$(sort -u $work/wan-peers | wc -l) = 2000"
touch "$work/release"
wait $holders

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
grep -E "addresses|error|Error" "$log"
finish
