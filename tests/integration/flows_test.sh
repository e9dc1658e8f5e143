#!/usr/bin/env bash
# Flow observability end to end: allowed, dropped and rejected traffic
# between network namespaces shows up in `sluicectl flows` with the right
# verdict and the rule that decided it; filters narrow it; --follow sees a
# new flow live.
#
#   flows_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab fl

web_servers 80 8081
{
	lab_interfaces
	decisions_rules
} >"$work/sluice.toml"

log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 30 grep -q "running with" "$log" || cat "$log"
ctl() { "$SLUICECTL" --socket "$work/sluice.sock" "$@"; }

check "allowed: web" test "$(tcp_result "$lan" 10.10.2.2 80)" = connected
# SCHED_IDLE is policy 5 (field 41 of stat).
check "the history writer is a thread of its own, under SCHED_IDLE" bash -c \
	"grep -lx sluice-history /proc/$sluiced_pid/task/*/comm | sed 's|/comm\$|/stat|' | xargs awk '{print \$41}' | grep -qx 5"
# A connection that ends with a reset: reported closed once its conntrack
# entry times out (10 s after the reset, found by the next sweep).
ip netns exec "$lan" python3 - <<'PY'
import socket, struct
s = socket.create_connection(("10.10.2.2", 8081), timeout=3)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
check "rejected: telnet" test "$(tcp_result "$lan" 10.10.2.2 23)" = refused
check "dropped: smb" test "$(tcp_result "$lan" 10.10.2.2 445)" = timeout
ctl --json flows --limit 1000 >"$work/all.json"

# jq-free: flows_has FILE VERDICT RULE DPORT [REASON] passes when one flow
# from the lan client has that verdict, rule and destination port.
flows_has() {
	python3 - "$@" <<'PY'
import json, sys
path, verdict, rule, dport = sys.argv[1:5]
reason = sys.argv[5] if len(sys.argv) > 5 else None
flows = json.load(open(path))["flows"]
hits = [f for f in flows if f["verdict"] == verdict and f["rule"] == rule and f["dport"] == int(dport)
        and f["src"] == "10.10.1.10" and f["dst"] == "10.10.2.2" and f["proto"] == "tcp"
        and f["chain"] == "forward" and f["interface"] == "lan0"
        and (reason is None or f.get("reason") == reason)]
if not hits:
    print(json.dumps(flows, indent=1))
sys.exit(0 if hits else 1)
PY
}
check "the web flow: allowed by 'web'" flows_has "$work/all.json" allowed web 80
check "the telnet flow: rejected by 'no-telnet'" flows_has "$work/all.json" rejected no-telnet 23 policy-rule
check "the smb flow: dropped by 'no-smb'" flows_has "$work/all.json" dropped no-smb 445 policy-rule
check "a rule's flow links to its line in the config" python3 -c "
import json, sys
f = [f for f in json.load(open(sys.argv[1]))['flows'] if f['rule'] == 'web'][0]
assert f['rule_at'] == {'file': sys.argv[2], 'line': 12}, f" "$work/all.json" "$work/sluice.toml"
check "a rule with log = true also logs its decisions" \
	grep -qE "flow dropped by rule 'no-smb' \(line 27\): tcp 10\.10\.1\.10:[0-9]+ -> 10\.10\.2\.2:445 on lan0 \(policy-rule\)" "$log"
check_not "a rule without it does not" grep -q "flow allowed by rule 'web'" "$log"
check "the allowed flow is recorded once, not per packet" python3 -c "
import json, sys
assert len([f for f in json.load(open(sys.argv[1]))['flows'] if f['rule'] == 'web' and f['dport'] == 80]) == 1" "$work/all.json"

# Something the chain default drops: UDP to a port no rule names.
check "dropped by the default: udp" test "$(udp_result "$lan" 10.10.2.2 5353)" = silent
ctl --json flows --verdict dropped --port 5353 >"$work/default.json"
check "the default drop names the default" python3 -c "
import json, sys
f = json.load(open(sys.argv[1]))['flows']
assert f and all(x['rule'] == 'default' and x['reason'] == 'policy-default' and x['dport'] == 5353 for x in f), f" "$work/default.json"

ctl --json flows --verdict dropped >"$work/dropped.json"
check "--verdict dropped shows only drops" python3 -c "
import json, sys
f = json.load(open(sys.argv[1]))['flows']
assert f and all(x['verdict'] == 'dropped' for x in f), f" "$work/dropped.json"
ctl --json flows --rule no-telnet >"$work/telnet.json"
check "--rule no-telnet shows only that rule" python3 -c "
import json, sys
f = json.load(open(sys.argv[1]))['flows']
assert f and all(x['rule'] == 'no-telnet' for x in f), f" "$work/telnet.json"
check "--from another address shows nothing" bash -c "[[ \$('$SLUICECTL' --socket '$work/sluice.sock' --json flows --from 10.10.1.99 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"flows\"]))') == 0 ]]"
check "--since in the future shows nothing" bash -c "[[ \$('$SLUICECTL' --socket '$work/sluice.sock' --json flows --since $(( $(date +%s) + 60 )) | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"flows\"]))') == 0 ]]"
ctl flows --limit 1000 >"$work/table.txt"
check "the people's table names verdict and rule" grep -qE "dropped +forward +no-smb \(line 27\) +tcp +10\.10\.1\.10:[0-9]+ -> 10\.10\.2\.2:445 on lan0 \(policy-rule\)" "$work/table.txt"

check_not "a bad filter is refused" ctl flows --port 99999
ctl flows --verdict denied 2>"$work/bad.txt"
check "the refusal says what is wrong" grep -q "verdict: 'denied' is not one of" "$work/bad.txt"
check_not "an unknown option is a usage error" ctl flows --colour red

# --follow: a flow made after the follower started arrives within a second.
ctl --json flows --follow --port 8081 >"$work/follow.txt" &
follower=$!
cleanup_add "kill $follower 2>/dev/null"
sleep 1
sent=$(date +%s%N)
check "allowed: 8081" test "$(tcp_result "$lan" 10.10.2.2 8081)" = connected
wait_for "the followed flow" 5 grep -q '"dport":8081' "$work/follow.txt"
seen=$(date +%s%N)
echo "the followed flow arrived after $(( (seen - sent) / 1000000 )) ms"
check "--follow shows the new flow within a second" test $(( (seen - sent) / 1000000 )) -lt 1000
check "--follow shows only what matches" python3 -c "
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert lines and all(8081 in (f['sport'], f['dport']) for f in lines), lines" "$work/follow.txt"
kill $follower

wait_for "the reset flow to be reported closed" 25 bash -c "'$SLUICECTL' --socket '$work/sluice.sock' --json flows --verdict closed --port 8081 | grep -q duration_ms"
ctl --json flows --verdict closed --port 8081 >"$work/closed.json"
check "a closed flow has its counts each way and its duration" python3 -c "
import json, sys
f = json.load(open(sys.argv[1]))['flows']
c = [x for x in f if x['dport'] == 8081 and x['src'] == '10.10.1.10']
assert len(c) == 1, f
c = c[0]
assert c['rule'] == 'web' and c['packets'][0] >= 3 and c['packets'][1] >= 2, c
assert c['bytes'][1] > 100 and c['duration_ms'] >= 0, c" "$work/closed.json"

# A tuple used again at once: the connection is reset, and the same client
# port connects again. The datapath ends the old flow when the new SYN
# finds it, and reports it closed right away (the sweep would take 15 s).
ip netns exec "$lan" python3 - <<'PY'
import socket, struct
for attempt in range(2):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 47001))
    s.settimeout(3)
    s.connect(("10.10.2.2", 8081))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.recv(100)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
PY
wait_for "the first connection from port 47001 to be reported closed" 3 bash -c "'$SLUICECTL' --socket '$work/sluice.sock' --json flows --verdict closed --port 47001 | grep -q duration_ms"
ctl --json flows --port 47001 >"$work/reused.json"
check "it has its rule and counts, and the second connection its own allowed record" python3 -c "
import json, sys
f = [x for x in json.load(open(sys.argv[1]))['flows'] if x['sport'] == 47001]
closed = [x for x in f if x['verdict'] == 'closed']
allowed = [x for x in f if x['verdict'] == 'allowed']
assert len(closed) == 1 and len(allowed) == 2, f
c = closed[0]
assert c['rule'] == 'web' and c['packets'][0] >= 3 and c['packets'][1] >= 2 and c['bytes'][1] > 100, c" "$work/reused.json"

# History: the flows survive a restart (memory starts empty, sqlite has
# them), and new flows are numbered after the old ones.
last_before=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["flows"]["last_id"])')
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "the history was written" test -s "$work/sluice.db"
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start again" 30 ctl status
check "after a restart the smb flow comes from the history" flows_has <(ctl --json flows --rule no-smb) dropped no-smb 445 policy-rule
check "allowed again after the restart: web" test "$(tcp_result "$lan" 10.10.2.2 80)" = connected
ctl --json flows --limit 1000 >"$work/after.json"
check "new flows are numbered after the old ones" python3 -c "
import json, sys
f = json.load(open(sys.argv[1]))['flows']
ids = [x['id'] for x in f]
assert ids == sorted(set(ids)), ids
new = [x for x in f if x['id'] > int(sys.argv[2])]
assert any(x['rule'] == 'web' for x in new), (sys.argv[2], f)
assert any(x['id'] <= int(sys.argv[2]) for x in f), 'old flows missing'" "$work/after.json" "$last_before"

# Retention: with a 2 s maximum age, the old rows go.
printf '\n[flows]\nhistory_max_age = "2s"\n' >>"$work/sluice.toml"
sleep 2.5
check "apply with a 2 s history" ctl apply
wait_for "old flows to be removed" 10 bash -c "sqlite3 '$work/sluice.db' 'SELECT count(*) FROM flows WHERE id <= $last_before' | grep -qx 0"
check "retention removed the old rows" test "$(sqlite3 "$work/sluice.db" "SELECT count(*) FROM flows WHERE id <= $last_before")" = 0
check "status counts what retention removed" python3 -c "
import json, subprocess, sys
s = json.loads(subprocess.check_output([sys.argv[1], '--socket', sys.argv[2], '--json', 'status']))
assert s['flows']['history']['removed_by_retention'] > 0, s['flows']" "$SLUICECTL" "$work/sluice.sock"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"

# A database that is not one: reported, and the firewall works regardless.
head -c 65536 /dev/urandom >"$work/broken.db"
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/broken.db" --socket "$work/sluice.sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start with a broken database" 30 ctl status
check "the broken database is logged" grep -q "flow history unavailable.*broken.db" "$log"
check "status shows the history failing" bash -c "'$SLUICECTL' --socket '$work/sluice.sock' status | grep -q 'history FAILING: .*broken.db'"
check "the firewall still allows web" test "$(tcp_result "$lan" 10.10.2.2 80)" = connected
check "and still drops smb" test "$(tcp_result "$lan" 10.10.2.2 445)" = timeout
check "flows still answer from memory" flows_has <(ctl --json flows --rule no-smb) dropped no-smb 445 policy-rule
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
