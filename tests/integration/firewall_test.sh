#!/usr/bin/env bash
# sluiced as the firewall between a lan client and a wan server, each in its
# own network namespace: real TCP, UDP and ICMP traffic, allowed, dropped and
# rejected per the config; reload with a bad and a good config; clean stop.
#
#   firewall_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab sl

# Servers on the wan side: web on 80, and 81 and 23 which only the
# firewall may keep clients from.
for port in 80 81 23; do
	ip netns exec "$wan" python3 -m http.server "$port" --bind 10.10.2.2 >/dev/null 2>&1 &
	cleanup_add "kill $!"
done
for port in 80 81 23; do
	wait_for "wan server on $port" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/10.10.2.2/$port" ||
		{ echo "the test servers did not start"; exit 1; }
done

write_config() { # EXTRA_RULES
	cat >"$work/sluice.toml" <<TOML
[[interface]]
name = "lan0"
zone = "lan"

[[interface]]
name = "wan0"
zone = "wan"

[[interface]]
name = "late0"

[zones.lan]
networks = ["10.10.1.0/24"]

[zones.wan]
networks = ["10.10.2.0/24"]

[chains]
input = "drop"
forward = "drop"
output = "accept"

$1

[[rule]]
name = "ping-out"
chain = "forward"
from = "zone:lan"
proto = "icmp"
icmp_type = 8
action = "accept"

[[rule]]
name = "ping-the-firewall"
chain = "input"
from = "zone:lan"
proto = "icmp"
icmp_type = 8
action = "accept"

[[rule]]
name = "no-telnet"
chain = "forward"
from = "zone:lan"
proto = "tcp"
port = 23
action = "reject"

[[rule]]
name = "no-dns"
chain = "forward"
from = "zone:lan"
proto = "udp"
port = 53
action = "reject"
TOML
}

web_rule='[[rule]]
name = "web"
chain = "forward"
from = "zone:lan"
to = "zone:wan"
proto = "tcp"
port = 80
action = "accept"'

write_config "$web_rule"
check "sluiced --check accepts the config" "$SLUICED" --check --config "$work/sluice.toml"
check "sluicectl validate accepts it" "$SLUICECTL" validate "$work/sluice.toml"

# Before sluiced runs, the namespace forwards everything.
check "without sluiced, port 81 is open" test "$(tcp_result "$lan" 10.10.2.2 81)" = connected

# Another filter in the same namespace: sluiced must name it at start.
ip netns exec "$fw" nft add table inet other
ip netns exec "$fw" nft add chain inet other input '{ type filter hook input priority 0; policy accept; }'

sluiced_in "$fw" "$work/sluiced.log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" \
	--socket "$work/sluice.sock"
sluiced=$sluiced_pid
cleanup_add "kill $sluiced"
wait_for "sluiced to start" 15 grep -q "running with" "$work/sluiced.log" || cat "$work/sluiced.log"

check "sluiced warns about the other packet filter by name" \
	grep -q "another packet filter may judge the same traffic: nftables inet other" "$work/sluiced.log"
# An interface configured but missing at start is attached once it appears.
check_not "late0 is not attached while it does not exist" grep -q "attached to late0" "$work/sluiced.log"
ip -n "$fw" link add late0 type veth peer name late1
ip -n "$fw" link set late0 up
wait_for "late0 to be attached" 5 grep -q "attached to late0" "$work/sluiced.log"
check "late0 is attached once it appears" bash -c "ip -n $fw link show late0 | grep -q xdp"
check "lan reaches the wan web server (reply traffic allowed)" \
	ip netns exec "$lan" curl -sf -m 3 -o /dev/null http://10.10.2.2/
check "port 81 is dropped (connection times out)" test "$(tcp_result "$lan" 10.10.2.2 81)" = timeout
check "port 23 is rejected (connection refused at once)" test "$(tcp_result "$lan" 10.10.2.2 23)" = refused
check "udp 53 is rejected (ICMP port unreachable)" test "$(udp_result "$lan" 10.10.2.2 53)" = refused
check "lan pings the wan server" ip netns exec "$lan" ping -c1 -W1 -q 10.10.2.2
check_not "the wan server cannot ping the lan client" ip netns exec "$wan" ping -c1 -W1 -q 10.10.1.10
check "lan pings the firewall (input chain)" ip netns exec "$lan" ping -c1 -W1 -q 10.10.1.1
check_not "wan cannot ping the firewall (input default drop)" ip netns exec "$wan" ping -c1 -W1 -q 10.10.2.1
check_not "wan cannot open connections to lan" test "$(tcp_result "$wan" 10.10.1.10 80)" = connected

# A bad config on reload: errors logged with their location, rules unchanged.
cp "$work/sluice.toml" "$work/good.toml"
printf '\n[[rule]]\nname = "typo"\nchain = "forward"\nprot = "tcp"\naction = "accept"\n' >>"$work/sluice.toml"
check_not "sluiced --check refuses the bad config" "$SLUICED" --check --config "$work/sluice.toml"
check_not "sluicectl validate refuses it" "$SLUICECTL" validate "$work/sluice.toml"
kill -HUP "$sluiced"
wait_for "the reload to be refused" 10 grep -q "reload refused" "$work/sluiced.log"
check "the reload error names file:line:col and the key" \
	grep -q "$work/sluice.toml:[0-9]*:1: rule\[5\].prot: unknown key" "$work/sluiced.log"
check "after the bad reload, the web still works" ip netns exec "$lan" curl -sf -m 3 -o /dev/null http://10.10.2.2/
check "after the bad reload, port 81 is still dropped" test "$(tcp_result "$lan" 10.10.2.2 81)" = timeout

# A good config on reload: port 81 allowed, 80 no longer.
write_config '[[rule]]
name = "web-81"
chain = "forward"
from = "zone:lan"
to = "zone:wan"
proto = "tcp"
port = 81
action = "accept"'
applied_before=$(grep -c "applied " "$work/sluiced.log")
kill -HUP "$sluiced"
wait_for "the reload" 10 bash -c "[[ \$(grep -c 'applied ' '$work/sluiced.log') -gt $applied_before ]]"
check "after the good reload, port 81 connects" test "$(tcp_result "$lan" 10.10.2.2 81)" = connected
check "after the good reload, port 80 is dropped" test "$(tcp_result "$lan" 10.10.2.2 80)" = timeout

# A blocklist that holds the admin's own address does not lock the admin
# out: the prefilter runs before the anti-lockout rule, so management
# sources are exempt from it (everyone else in the prefix is dropped).
ip netns exec "$fw" python3 -m http.server 2222 --bind 0.0.0.0 >/dev/null 2>&1 &
cleanup_add "kill $!"
wait_for "the management port's server" 20 ip netns exec "$fw" bash -c "exec 3<>/dev/tcp/127.0.0.1/2222"
write_config '[api]
listen = ""
management = "10.10.1.10"
management_ports = [2222]

[sets]
blocked = ["10.10.1.0/24", "10.10.2.0/24"]

[prefilter]
drop_from = "set:blocked"'
applied_before=$(grep -c "applied " "$work/sluiced.log")
kill -HUP "$sluiced"
wait_for "the reload" 10 bash -c "[[ \$(grep -c 'applied ' '$work/sluiced.log') -gt $applied_before ]]"
check "the admin in a blocked prefix still reaches the management port" \
	test "$(tcp_result "$lan" 10.10.1.1 2222)" = connected
check "the rest of the blocked prefix is dropped at XDP" test "$(tcp_result "$wan" 10.10.2.1 2222)" = timeout
check "the exemption is logged" grep -q "prefilter: 1 management source(s) exempt from the blocklist" "$work/sluiced.log"
check "the drops are the prefilter's" bash -c "'$SLUICECTL' --socket '$work/sluice.sock' counters | grep -qE '^prefilter +[1-9]'"

kill -TERM "$sluiced"
wait "$sluiced"
check "sluiced exits cleanly on SIGTERM" test $? -eq 0
check_not "no XDP program is left on lan0" bash -c "ip -n $fw link show lan0 | grep -q xdp"
check_not "no tc filter is left on wan0" bash -c "tc -n $fw filter show dev wan0 ingress | grep -q bpf"
check "traffic flows unfiltered again" test "$(tcp_result "$lan" 10.10.2.2 81)" = connected
check "no pinned map is left" test ! -e "$pins"

echo "--- sluiced log"
cat "$work/sluiced.log"
finish
