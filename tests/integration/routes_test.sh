#!/usr/bin/env bash
# Static routes and forwarding from the config: installed on start,
# reconciled on apply (sluice removes only what it added), someone else's
# route to the same destination left alone.
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

config() { # EXTRA (TOML)
	{
		lab_interfaces
		printf '[router]\nforwarding = true\n\n%s\n' "$1"
	} >"$work/sluice.toml"
}
config '[[route]]
to = "10.30.0.0/24"
via = "10.10.2.2"'

log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --socket "$work/sluice.sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 20 grep -q "running with" "$log" || cat "$log"

check "forwarding is switched on" test "$(ip netns exec "$fw" sysctl -n net.ipv4.ip_forward)" = 1
check "the configured route is installed as sluice's (proto 83)" \
	bash -c "ip -n $fw route show proto 83 | grep -q '^10.30.0.0/24 via 10.10.2.2 dev wan0'"
check "the lan reaches the network behind it" ip netns exec "$lan" ping -c1 -W1 -q 10.30.0.1

# Reload: the route goes; a configured destination someone else routes
# stays theirs.
config '[[route]]
to = "10.40.0.0/24"
via = "10.10.1.10"'
kill -HUP "$sluiced_pid"
wait_for "the reload" 10 grep -q "routes: 0 added, 1 removed" "$log"
check "the route no longer configured is removed" bash -c "! ip -n $fw route show | grep -q '^10.30.0.0/24'"
check "someone else's route to a configured destination is kept" \
	bash -c "ip -n $fw route show proto static | grep -q '^10.40.0.0/24 via 10.10.2.2'"
check "and the clash is logged" grep -q "routes: route 10.40.0.0/24 via 10.10.1.10" "$log"
check_not "the lan no longer reaches 10.30.0.1" ip netns exec "$lan" ping -c1 -W1 -q 10.30.0.1

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
cat "$log"
finish
