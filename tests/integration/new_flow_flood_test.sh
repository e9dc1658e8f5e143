#!/usr/bin/env bash
# A flood of a million new flows from random sources through the router,
# every one allowed and masqueraded, until the conntrack table is full:
# meanwhile an established management TCP session to the firewall keeps
# working, an established forwarded TCP flow keeps being forwarded, and
# the API answers a signed-in user (status, and a page of the full
# conntrack table) within a second every time, and a search of the table
# by address (which walks all of it) within two.
#
#   new_flow_flood_test.sh SLUICED SLUICECTL FLOOD
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
FLOOD=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab nf
# The flood's destinations live behind the wan host, which drops them
# (it does not forward); its sources are a /16 of their own on the lan side.
ip -n "$fw" route add 10.60.0.0/16 via 10.10.2.2

{
	printf '[api]\nlisten = "127.0.0.1:9090"\nmanagement = "10.10.1.10"\nmanagement_ports = [22, 9090]\n\n'
	lab_interfaces
	cat <<'TOML'
[zones.lan]
networks = ["10.10.1.0/24", "10.20.0.0/16"]

[router]
forwarding = true

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "lan-out"
chain = "forward"
from = "zone:lan"
action = "accept"

[[nat]]
masquerade = { out_interface = "wan0", from = "zone:lan" }

# 262,144 masqueraded UDP flows (each a flow and its translation),
# whatever the host's memory would make of "auto": the flood must overfill
# their table. TCP flows (the management session, the forwarded flow)
# have a table of their own.
[conntrack]
entries = 65536
other_entries = 524288
TOML
} >"$work/sluice.toml"
log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" \
	--socket "$work/sluice.sock"
cleanup_add 'kill $sluiced_pid'
wait_for "sluiced to start" 30 grep -q "running with" "$log" || cat "$log"
ctl() { "$SLUICECTL" --socket "$work/sluice.sock" "$@"; }
echo 'a long enough password' | ctl user add admin >/dev/null
json_of() { ctl --json "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }

# The two established sessions: the admin's to the firewall (a management
# port, let in by the anti-lockout rule), and a forwarded one to the wan.
echo_server "$fw" 10.10.1.1 22
echo_server "$wan" 10.10.2.2 9000
echo_client "$lan" 10.10.1.1 22 "$work/mgmt.count"
echo_client "$lan" 10.10.2.2 9000 "$work/fwd.count"

# The API, probed from the firewall's namespace as a signed-in user.
ip netns exec "$fw" python3 - "$work/stop" >"$work/api.txt" 2>&1 <<'PY' &
import http.client, json, os, sys, time
def call(method, path, body=None, headers={}):
    c = http.client.HTTPConnection("127.0.0.1", 9090, timeout=5)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data
r, data = call("POST", "/api/v1/login", json.dumps({"user": "admin", "password": "a long enough password"}))
cookie = r.getheader("Set-Cookie").split(";")[0]
open(sys.argv[1] + ".signed-in", "w").close()
# A page and the status are bounded work; a search walks the whole table.
bounded = ("/api/v1/status", "/api/v1/conntrack?limit=50")
search = "/api/v1/conntrack?filter=10.10.2.2&limit=50"
slowest, slowest_search, probes, bad = 0.0, 0.0, 0, 0
end = time.time() + 60
while time.time() < end:
    for path in bounded + (search,):
        t = time.time()
        try:
            r, _ = call("GET", path, headers={"Cookie": cookie})
            ok = r.status == 200
        except OSError:
            ok = False
        took = time.time() - t
        if path == search:
            slowest_search = max(slowest_search, took)
        else:
            slowest = max(slowest, took)
        probes += 1
        bad += not ok
    time.sleep(0.1)
    if os.path.exists(sys.argv[1]):
        break
print(probes, bad, f"{slowest:.3f}", f"{slowest_search:.3f}")
PY
prober=$!
cleanup_add "kill $prober 2>/dev/null"
wait_for "the prober to sign in" 20 test -e "$work/stop.signed-in" || head -12 "$work/api.txt"

mgmt0=$(cat "$work/mgmt.count") fwd0=$(cat "$work/fwd.count")
mac=$(ip netns exec "$fw" cat /sys/class/net/lan0/address)
sent=0 peak=0
for ((round = 0; round < 20 && sent < 1000000; round++)); do
	n=$(ip netns exec "$lan" "$FLOOD" eth0 "$mac" 10.20.0.0 10.60.0.0 2 65533 | awk '/^sent/ {print $2}')
	sent=$((sent + ${n:-0}))
	entries=$(json_of status 'd["conntrack_tables"]["other"]["entries"]')
	((entries > peak)) && peak=$entries
	echo "round $round: $sent new flows sent, conntrack (other protocols) $entries entries"
done
# The sweep's first walk starts 5 s after sluiced, the next ones at most
# 20 s apart (docs/flows.md): it meets the full table while the API is probed.
sleep 6
touch "$work/stop"
wait "$prober"
head -12 "$work/api.txt" | sed "s/^/     | /"
read -r probes bad slowest slowest_search < <(tail -1 "$work/api.txt")
mgmt1=$(cat "$work/mgmt.count") fwd1=$(cat "$work/fwd.count")
capacity=$(json_of status 'd["conntrack_tables"]["other"]["capacity"]')
tcp_entries=$(json_of status 'd["conntrack_tables"]["tcp"]["entries"]')
echo "API: $probes probes, $bad failed, slowest ${slowest}s, slowest search ${slowest_search}s"
echo "management session: $mgmt0 -> $mgmt1 echoes; forwarded flow: $fwd0 -> $fwd1 echoes"

check "a million new flows were sent" test "$sent" -ge 1000000
check "the UDP flows' conntrack table filled up (at least 90% of $capacity)" test $((peak * 100)) -ge $((capacity * 90))
check "the TCP table holds the TCP flows only ($tcp_entries entries)" test "$tcp_entries" -lt 1000
check "the management session to the firewall kept working" bash -c "[[ '$mgmt1' != broken ]] && (( $mgmt1 - $mgmt0 >= 50 ))"
check "the established forwarded flow kept being forwarded" bash -c "[[ '$fwd1' != broken ]] && (( $fwd1 - $fwd0 >= 50 ))"
check "the API was probed throughout" test "${probes:-0}" -ge 75
check "every API probe answered 200" test "${bad:-1}" -eq 0
check "the slowest API answer took under a second" python3 -c "import sys; sys.exit(0 if float('${slowest:-9}') < 1.0 else 1)"
check "the slowest search by address took under two seconds" python3 -c "import sys; sys.exit(0 if float('${slowest_search:-9}') < 2.0 else 1)"
check "sluicectl still answers" ctl status
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
