#!/usr/bin/env bash
# Interface addresses, static routes and forwarding from the config:
# installed on start, reconciled on apply (sluice removes only what it
# added), someone else's route or address left alone.
#
#   routes_test.sh SLUICED
set -uo pipefail
SLUICED=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
test_lab rt

# A network behind the wan server, and a route someone else added.
ip -n "$wan" addr add 10.30.0.1/32 dev lo
ip -n "$wan" addr add 10.40.0.1/32 dev lo
ip -n "$fw" route add 10.40.0.0/24 via 10.10.2.2 proto static
ip netns exec "$fw" sysctl -qw net.ipv4.ip_forward=0

# An address an operator put on lan0 by hand.
ip -n "$fw" addr add 10.60.0.1/24 dev lan0

config() { # LAN0_ADDRESSES EXTRA (TOML)
	printf '[[interface]]\nname = "lan0"\naddresses = [%s]\n\n[[interface]]\nname = "wan0"\n\n' "$1" >"$work/sluice.toml"
	printf '[router]\nforwarding = true\n\n%s\n' "$2" >>"$work/sluice.toml"
}
config '"10.50.0.1/24", "fd00:50::1/64", "10.60.0.1/24"' '[[route]]
to = "10.30.0.0/24"
via = "10.10.2.2"'

log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 20 grep -q "running with" "$log" || cat "$log"

check "forwarding is switched on" test "$(ip netns exec "$fw" sysctl -n net.ipv4.ip_forward)" = 1
check "the configured route is installed as sluice's (proto 83)" \
	bash -c "ip -n $fw route show proto 83 | grep -q '^10.30.0.0/24 via 10.10.2.2 dev wan0'"
check "the lan reaches the network behind it" ip netns exec "$lan" ping -c1 -W1 -q 10.30.0.1
check "the configured IPv4 address is on lan0" bash -c "ip -n $fw addr show dev lan0 | grep -q 'inet 10.50.0.1/24'"
check "the configured IPv6 address is on lan0" bash -c "ip -n $fw addr show dev lan0 | grep -q 'inet6 fd00:50::1/64'"
check "the address the operator added is still there once" \
	test "$(ip -n "$fw" addr show dev lan0 | grep -c 'inet 10.60.0.1/24')" = 1

# Reload: the route goes; a configured destination someone else routes
# stays theirs.
config '"10.50.0.2/24"' '[[route]]
to = "10.40.0.0/24"
via = "10.10.1.10"'
kill -HUP "$sluiced_pid"
wait_for "the reload" 10 grep -q "routes: 0 added, 1 removed" "$log"
check "the route no longer configured is removed" bash -c "! ip -n $fw route show | grep -q '^10.30.0.0/24'"
check "someone else's route to a configured destination is kept" \
	bash -c "ip -n $fw route show proto static | grep -q '^10.40.0.0/24 via 10.10.2.2'"
check "and the clash is logged" grep -q "routes: route 10.40.0.0/24 via 10.10.1.10" "$log"
check_not "the lan no longer reaches 10.30.0.1" ip netns exec "$lan" ping -c1 -W1 -q 10.30.0.1
check "sluice's addresses no longer configured are removed" \
	bash -c "! ip -n $fw addr show dev lan0 | grep -Eq 'inet 10.50.0.1/|fd00:50::1/'"
check "the newly configured address is added" bash -c "ip -n $fw addr show dev lan0 | grep -q 'inet 10.50.0.2/24'"
check "the operator's address stays though sluice's config no longer names it" \
	bash -c "ip -n $fw addr show dev lan0 | grep -q 'inet 10.60.0.1/24'"

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
cat "$log"
finish
