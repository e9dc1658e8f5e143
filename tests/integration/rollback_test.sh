#!/usr/bin/env bash
# Rollbacks stick: after a rollback (by hand, by a passed confirm deadline,
# or by a deadline that passed while sluiced was stopped) the config file
# holds the text of the ruleset that is live, so a SIGHUP or a restart
# keeps it; an apply awaiting confirmation keeps its deadline across a
# SIGHUP and a restart. Checked with real traffic.
#
#   rollback_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
SLUICECTL_BIN=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab rb
sluicectl() { "$SLUICECTL_BIN" --socket "$work/sluice.sock" "$@"; }

web_servers 80 81

config() { # PORTS_ALLOWED...
	lab_interfaces
	web_port_rules "$@"
}
reach() { ip netns exec "$lan" curl -sf -m 2 -o /dev/null "http://10.10.2.2:$1/"; }
same_file() { cmp -s "$1" "$2"; }

log=$work/sluiced.log
start() {
	sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" \
		--socket "$work/sluice.sock"
	wait_for "sluiced to start" 20 sluicectl status >/dev/null || cat "$log"
}
stop() {
	kill -TERM "$sluiced_pid"
	wait "$sluiced_pid"
}

config 80 81 >"$work/both.toml"
config 80 >"$work/only80.toml"
cp "$work/both.toml" "$work/sluice.toml"
start
cleanup_add 'kill $sluiced_pid'
check "81 is reachable" reach 81

# 1. The deadline passes: the kernel and the file go back.
cp "$work/only80.toml" "$work/sluice.toml"
check "apply with a 2 s deadline" sluicectl apply --confirm-within 2s
check_not "the new rules hold (81 dropped)" reach 81
wait_for "the automatic rollback" 10 grep -q "not confirmed in time: rolling back" "$log"
check "rolled back: 81 reachable" reach 81
check "the file holds the live ruleset's text again" same_file "$work/sluice.toml" "$work/both.toml"
kill -HUP "$sluiced_pid"
sleep 1
check "a SIGHUP after it keeps the rolled-back rules" reach 81
stop
start
check "so does a restart" reach 81

# 2. A rollback by hand.
cp "$work/only80.toml" "$work/sluice.toml"
check "apply without a deadline" sluicectl apply
check_not "81 dropped" reach 81
check "rollback by hand" sluicectl rollback
check "the file is the rolled-back-to text" same_file "$work/sluice.toml" "$work/both.toml"
stop
start
check "after a restart 81 is still reachable" reach 81

# 3. A SIGHUP while an apply awaits confirmation keeps its deadline.
cp "$work/only80.toml" "$work/sluice.toml"
check "apply with a 4 s deadline" sluicectl apply --confirm-within 4s
kill -HUP "$sluiced_pid"
sleep 1
check "after a SIGHUP the confirmation is still awaited" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' status | grep -q 'waiting for confirmation'"
wait_for "the automatic rollback after the SIGHUP" 10 reach 81
check "rolled back although a SIGHUP came in between" reach 81
check "and the file followed" same_file "$work/sluice.toml" "$work/both.toml"

# 4. The deadline passes while sluiced is stopped: it starts with the
# ruleset from before the apply and rewrites the file.
cp "$work/only80.toml" "$work/sluice.toml"
check "apply with a 3 s deadline" sluicectl apply --confirm-within 3s
stop
sleep 4
start
check "started past the deadline: the ruleset before the apply" reach 81
check "... and the file holds it" same_file "$work/sluice.toml" "$work/both.toml"
check "the start says why" grep -q "not confirmed before its deadline passed (sluiced was stopped meanwhile)" "$log"
check "the audit log records the rollback" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' audit | grep -q 'rollback'"

# 5. A restart inside the deadline: the wait goes on, and a confirm ends it.
cp "$work/only80.toml" "$work/sluice.toml"
check "apply with a 60 s deadline" sluicectl apply --confirm-within 60s
stop
start
check "after a restart the confirmation is still awaited" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' status | grep -q 'waiting for confirmation: rolls back in [1-6][0-9]* s'"
check_not "the unconfirmed rules hold meanwhile (81 dropped)" reach 81
check "confirm after the restart" sluicectl confirm
stop
start
check "confirmed, the new rules stay across a restart (81 dropped)" bash -c "! ip netns exec $lan curl -sf -m 2 -o /dev/null http://10.10.2.2:81/"
check "the file is the confirmed text" same_file "$work/sluice.toml" "$work/only80.toml"
check_not "nothing awaits confirmation" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' status | grep -q 'waiting for confirmation'"

stop
finish
