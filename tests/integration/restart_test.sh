#!/usr/bin/env bash
# Restart without disruption: kill -9 sluiced in the middle of a TCP
# connection; the datapath keeps enforcing the last ruleset and the
# connection keeps flowing; a new sluiced takes over the pinned conntrack
# and rules (and keeps the pinned table's size when [conntrack] entries
# changed). Then --keep-datapath, and a clean stop that leaves nothing.
#
#   restart_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1 SLUICECTL=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab sr

{
	lab_interfaces
	cat <<'TOML'
[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "stream"
chain = "forward"
from = "10.10.1.0/24"
to = "10.10.2.2"
proto = "tcp"
port = 9000
action = "accept"

[conntrack]
entries = 65536
TOML
} >"$work/sluice.toml"

echo_server "$wan" 10.10.2.2 9000
ip netns exec "$wan" python3 -m http.server 81 --bind 10.10.2.2 >/dev/null 2>&1 &
cleanup_add "kill $!"
wait_for "the port 81 server" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/10.10.2.2/81"

log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
cleanup_add "kill -9 $sluiced_pid"
wait_for "sluiced to start" 20 grep -q "running with" "$log" || cat "$log"

echo_client "$lan" 10.10.2.2 9000 "$work/echoes"
flowing() { echoes_growing "$work/echoes"; }
# Dropped by the firewall: the connection times out (a missing server
# would refuse it instead).
dropped81() { test "$(tcp_result "$lan" 10.10.2.2 81)" = timeout; }

check "the connection flows through sluiced" flowing
check "port 81 is dropped" dropped81
# [conntrack] entries sizes the table, which holds the translations too.
capacity() { "$SLUICECTL" --json --socket "$work/sluice.sock" status |
	python3 -c "import json,sys; print({m['name']: m['capacity'] for m in json.load(sys.stdin)['maps']}['$1'])"; }
check "[conntrack] entries sizes the conntrack table" test "$(capacity conntrack)" = 65536
check "other protocols than TCP have a table of their own, half its size by default" test "$(capacity conntrack_other)" = 32768
check "there is no NAT table of its own" test -z "$(capacity nat 2>/dev/null)"

kill -9 "$sluiced_pid"
wait "$sluiced_pid" 2>/dev/null
check "after kill -9 the connection keeps flowing" flowing
check "after kill -9 the rules are still enforced (81 dropped)" dropped81
check "after kill -9 the maps stay pinned" test -e "$pins/conntrack"
check "after kill -9 XDP stays attached" bash -c "ip -n $fw link show lan0 | grep -q xdp"

# A new size: the pinned table and its flows are kept, at their size.
sed -i 's/^entries = 65536$/entries = 131072/' "$work/sluice.toml"
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
wait_for "sluiced to restart" 20 bash -c "[[ \$(grep -c 'running with' $log) -ge 2 ]]"
check "the new sluiced took over the pinned conntrack" grep -qE "took over the datapath pinned in $pins \([1-9][0-9]* tracked flows\)" "$log"
check "which keeps its size" test "$(capacity conntrack)" = 65536
check "as does the table of other protocols" test "$(capacity conntrack_other)" = 32768
check "and says so" grep -q "pinned conntrack table keeps its 65536 entries (131072 asked for" "$log"
check "after the restart the connection keeps flowing" flowing
check "after the restart the rules are unchanged (81 dropped)" dropped81

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "a clean stop removes the pins" test ! -e "$pins"
check "a clean stop detaches XDP" bash -c "! ip -n $fw link show lan0 | grep -q xdp"
check "a clean stop detaches tc" bash -c "! tc -n $fw filter show dev lan0 ingress | grep -q bpf"

# The upgrade flag file next to the control socket: one stop keeps the datapath.
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
wait_for "sluiced to start" 20 bash -c "[[ \$(grep -c 'running with' $log) -ge 3 ]]"
check "started afresh, the table has the size asked for" test "$(capacity conntrack)" = 131072
check "and the table of other protocols half of it" test "$(capacity conntrack_other)" = 65536
touch "$work/keep-datapath"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "the keep-datapath flag file keeps the maps pinned" test -e "$pins/settings"
check "and is used up" test ! -e "$work/keep-datapath"
check "the datapath stays enforcing (81 dropped)" dropped81

# --keep-datapath: a stop for an upgrade.
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock" --keep-datapath
wait_for "sluiced to start" 20 bash -c "[[ \$(grep -c 'running with' $log) -ge 4 ]]"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "--keep-datapath leaves the rules enforcing after a stop" dropped81
check "--keep-datapath leaves the maps pinned" test -e "$pins/settings"
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
wait_for "sluiced to start" 20 bash -c "[[ \$(grep -c 'running with' $log) -ge 5 ]]"
check "the next sluiced takes the kept datapath over" bash -c "[[ \$(grep -c 'took over the datapath' $log) -ge 3 ]]"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "and a clean stop leaves nothing" bash -c "[[ ! -e $pins ]] && ! ip -n $fw link show lan0 | grep -q xdp"

# Maps pinned by a version whose layout differs (an upgrade that changed
# the datapath's structures): sluiced starts afresh instead of not at all.
mkdir -p "$pins"
bpftool map create "$pins/settings" type array key 4 value 8 entries 1 name settings
bpftool map create "$pins/conntrack" type lru_hash key 40 value 64 entries 1024 name conntrack
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
wait_for "sluiced to start" 20 bash -c "[[ \$(grep -c 'running with' $log) -ge 6 ]]"
check "maps of another layout are replaced, with a warning" grep -q "do not fit this version's datapath" "$log"
check "and the rules are enforced (81 dropped)" dropped81
check "this version's maps are pinned in their place" bash -c "bpftool map show pinned $pins/conntrack | grep -q 'lru_hash' && ! bpftool map show pinned $pins/conntrack | grep -q 'value 64 '"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"

echo "--- sluiced log"
cat "$log"
finish
