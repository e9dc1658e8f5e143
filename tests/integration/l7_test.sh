#!/usr/bin/env bash
# L7 rules through sluice's own proxy (docs/l7.md), with real traffic: the
# flagship rule for traffic the router forwards and for a server on the
# firewall host itself, a tls_sni rule, the HTTP protocol checks
# (keep-alive, pipelining, chunked, WebSocket, every smuggling form,
# limits, slowloris, HTTP/2 prior knowledge), the proxy's records in the
# flow log, kill -9 of the proxy (its connections close, sluiced restarts
# it), fail closed while it cannot run, and no file descriptor left after
# 10,000 connections.
#
#   l7_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab l7
server_log=$work/server.log
local_log=$work/local.log
touch "$server_log" "$local_log"
chmod 666 "$server_log" "$local_log"

write_config() {  # write_config PROXY_USER
	cat >"$work/sluice.toml" <<TOML
$(lab_interfaces)
[chains]
input = "drop"
forward = "drop"

[proxy]
user = "$1"
header_timeout = "2s"
max_body_bytes = 1048576
workers = 2
# Low, so that connections not given back at once (a finished one left
# until the next timer round) would be refused within a second.
max_connections_per_source = 16

[[rule]]
name = "api"
chain = "forward"
to = ["10.10.2.2", "fd00:10:2::2"]
proto = "tcp"
port = 80
action = "accept"
http = [{ method = "GET", path = "/api/v1/.*" }]

[[rule]]
name = "upload"
chain = "forward"
to = "10.10.2.2"
proto = "tcp"
port = 81
action = "accept"
http = [{ path = "/api/v1/.*" }]
l7 = { websocket = true }

[[rule]]
name = "tls"
chain = "forward"
to = "10.10.2.2"
proto = "tcp"
port = 443
action = "accept"
tls_sni = ["allowed.example"]

[[rule]]
name = "local-api"
chain = "input"
proto = "tcp"
port = 8080
action = "accept"
http = [{ method = "GET", path = "/api/v1/.*" }]
TOML
}
write_config nobody

# The servers: plain HTTP on 80 and 81, TLS on 443 behind the router; one
# on the firewall host itself.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=allowed.example \
	-addext subjectAltName=DNS:allowed.example,DNS:denied.example \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
for port in 80 81; do
	ip netns exec "$wan" python3 "$here/l7_server.py" 10.10.2.2 $port "$server_log" 2>/dev/null &
	cleanup_add "kill $!"
done
ip netns exec "$wan" python3 "$here/l7_server.py" 10.10.2.2 443 "$server_log" \
	"$work/cert.pem" "$work/key.pem" 2>/dev/null &
cleanup_add "kill $!"
ip netns exec "$fw" python3 "$here/l7_server.py" 10.10.1.1 8080 "$local_log" 2>/dev/null &
cleanup_add "kill $!"
# The same over IPv6: the proxy has a listener per family.
ip netns exec "$wan" python3 "$here/l7_server.py" fd00:10:2::2 80 "$server_log" 2>/dev/null &
cleanup_add "kill $!"
ip netns exec "$fw" python3 "$here/l7_server.py" fd00:10:1::1 8080 "$local_log" 2>/dev/null &
cleanup_add "kill $!"
for target in "$wan 10.10.2.2 80" "$wan 10.10.2.2 81" "$wan 10.10.2.2 443" "$fw 10.10.1.1 8080" \
	"$wan fd00:10:2::2 80" "$fw fd00:10:1::1 8080"; do
	set -- $target
	wait_for "the server on $2:$3" 20 ip netns exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3"
done

start_sluiced "$fw"
wait_for "the proxy" 10 grep -q "L7 proxy started" "$log" || { cat "$log"; exit 1; }
proxy_pid() { grep -o 'L7 proxy started (pid [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$'; }
checks() { ip netns exec "$lan" python3 "$here/l7_checks.py" "$@"; }
status_of() { checks get "$1" "$2" "$3" | cut -d' ' -f1; }

# The proxy runs unprivileged.
pid=$(proxy_pid)
check "the proxy runs as nobody, without capabilities, under seccomp" bash -c "
	grep -q '^Uid:.*$(id -u nobody)' /proc/$pid/status &&
	grep -q '^CapEff:.*0000000000000000' /proc/$pid/status &&
	grep -q '^Seccomp:.*2' /proc/$pid/status && grep -q '^NoNewPrivs:.*1' /proc/$pid/status"

check "workers = 2: three threads (two workers), every one under seccomp with no_new_privs" bash -c "
	test \$(ls /proc/$pid/task | wc -l) = 3 &&
	! grep -L '^Seccomp:.*2' /proc/$pid/task/*/status | grep -q . &&
	! grep -L '^NoNewPrivs:.*1' /proc/$pid/task/*/status | grep -q ."
check "sluicectl status shows the proxy running" bash -c "$ctl status | grep -q 'L7 proxy: running (pid $pid)'"
token=$($ctl token add l7-test 2>/dev/null)
metrics_of() { ip netns exec "$fw" curl -sf -H "Authorization: Bearer $token" http://127.0.0.1:9090/metrics; }
check "/metrics: the proxy is up" bash -c "$(declare -f metrics_of); token=$token fw=$fw; metrics_of | grep -q '^sluice_l7_proxy_up 1'"

# The flagship rule, forwarded.
check "forwarded: GET /api/v1/x -> 200" test "$(status_of 10.10.2.2 80 /api/v1/x)" = 200
check "forwarded: GET /admin -> 403" test "$(status_of 10.10.2.2 80 /admin)" = 403
check "the 403 names the rule" bash -c "ip netns exec $lan python3 $here/l7_checks.py get 10.10.2.2 80 /admin | grep -q \"rule 'api'\""
check "forwarded: POST /api/v1/x -> 403" \
	test "$(ip netns exec "$lan" curl -s -o /dev/null -w '%{http_code}' -X POST http://10.10.2.2/api/v1/x)" = 403
check_not "the denied requests never reached the server" grep -qE "GET /admin|POST /api/v1/x" "$server_log"
# IPv6: the same rule, through the proxy's IPv6 listener.
http6() {  # http6 METHOD URL: the status curl got
	ip netns exec "$lan" curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$1" "$2"
}
check "forwarded over IPv6: GET /api/v1/v6 -> 200" test "$(http6 GET 'http://[fd00:10:2::2]/api/v1/v6')" = 200
check "forwarded over IPv6: GET /admin-v6 -> 403" test "$(http6 GET 'http://[fd00:10:2::2]/admin-v6')" = 403
check "forwarded over IPv6: the request reached the server" grep -q "GET /api/v1/v6" "$server_log"
check_not "forwarded over IPv6: /admin-v6 never reached the server" grep -q "/admin-v6" "$server_log"
check "local over IPv6: GET /api/v1/v6 -> 200" test "$(http6 GET 'http://[fd00:10:1::1]:8080/api/v1/v6')" = 200
check "local over IPv6: GET /admin-v6 -> 403" test "$(http6 GET 'http://[fd00:10:1::1]:8080/admin-v6')" = 403
check_not "local over IPv6: /admin-v6 never reached the local server" grep -q "/admin-v6" "$local_log"
# Another port of the same server: no rule, dropped at L3/L4.
check "port 82 has no rule: dropped" test "$(tcp_result "$lan" 10.10.2.2 82)" = timeout

# The same policy for a server on the firewall itself.
check "local: GET /api/v1/x -> 200" test "$(status_of 10.10.1.1 8080 /api/v1/x)" = 200
check "local: GET /admin -> 403" test "$(status_of 10.10.1.1 8080 /admin)" = 403
check_not "local: /admin never reached the local server" grep -q "/admin" "$local_log"

# TLS without decryption: the ClientHello's server name decides.
tls_get() {
	ip netns exec "$lan" curl -sk -m 5 --resolve "$1:443:10.10.2.2" -o /dev/null \
		-w '%{http_code}' "https://$1/api/v1/tls"
}
check "tls_sni: allowed.example -> 200" test "$(tls_get allowed.example)" = 200
check_not "tls_sni: denied.example is cut off" test "$(tls_get denied.example)" = 200

# The protocol, from the client's side (l7_checks.py).
for c in keepalive expect_continue pipelining websocket_refused slowloris http2; do
	check "protocol: $c" checks "$c" 10.10.2.2 80 "$server_log"
done
for c in chunked websocket_allowed smuggling limits; do
	check "protocol: $c" checks "$c" 10.10.2.2 81 "$server_log"
done

# The proxy's records in the flow log: rule, request, answer.
sleep 0.5
flows=$($ctl --json flows --limit 1000)
check "flows: GET /admin denied by api, with its status" bash -c "echo '$flows' | python3 -c '
import json, sys
fl = json.load(sys.stdin)[\"flows\"]
hit = [f for f in fl if f.get(\"l7\", {}).get(\"path\") == \"/admin\" and f[\"rule\"] == \"api\"
       and f[\"verdict\"] == \"rejected\" and f[\"l7\"][\"status\"] == 403 and f[\"chain\"] == \"forward\"]
assert hit, [f for f in fl if \"l7\" in f][:3]'"
check "flows: the TLS records carry the server names" bash -c "echo '$flows' | python3 -c '
import json, sys
fl = [f for f in json.load(sys.stdin)[\"flows\"] if f.get(\"l7\", {}).get(\"kind\") == \"tls\"]
assert any(f[\"l7\"][\"sni\"] == \"allowed.example\" and f[\"verdict\"] == \"allowed\" for f in fl), fl
assert any(f[\"l7\"][\"sni\"] == \"denied.example\" and f[\"verdict\"] == \"dropped\" for f in fl), fl'"
check "sluicectl flows shows the request" bash -c "$ctl flows --limit 1000 | grep -q 'http GET api.internal /admin -> 403'"

metrics_of >"$work/metrics.txt"
check "/metrics: requests by rule and verdict" \
	grep -q '^sluice_l7_requests_total{rule="api",verdict="denied"} [1-9]' "$work/metrics.txt"
check "/metrics: the latency histogram" \
	grep -q '^sluice_l7_request_duration_seconds_bucket{rule="api",le="+Inf"} [1-9]' "$work/metrics.txt"
check "/metrics passes promtool check metrics" bash -c "promtool check metrics <'$work/metrics.txt'"

# No descriptor outlives its connection. Each worker thread may keep idle
# connections to the server for the next request: those are not counted.
pid=$(proxy_pid)
held_fds() {
	local pooled
	pooled=$(ip netns exec "$fw" ss -Htnp state established dst 10.10.2.2:80 | grep -c "pid=$pid,")
	echo $(($(ls /proc/"$pid"/fd | wc -l) - pooled))
}
before=$(held_fds)
check "10,000 connections" checks connections 10.10.2.2 80
check "protocol: per_source (the 17th connection from one address is refused)" checks per_source 10.10.2.2 80
sleep 1
after=$(held_fds)
check "no descriptor left after 10,000 connections ($before before, $after after, idle server connections aside)" test "$after" -le "$before"

# kill -9: the proxy's connections end with it; sluiced starts another.
held=$work/held
ip netns exec "$lan" python3 "$here/l7_checks.py" held 10.10.2.2 80 >"$held" 2>&1 &
cleanup_add "kill $! 2>/dev/null"
wait_for "the held connection" 10 grep -q open "$held"
kill -9 "$pid"
check "kill -9: the held connection is closed" wait_for "its end" 5 grep -q '^closed' "$held"
check "sluiced starts the proxy again" wait_for "a new proxy" 10 \
	bash -c "test \$(grep -c 'L7 proxy started' $log) -ge 2"
check "after the restart: GET /api/v1/x -> 200" test "$(status_of 10.10.2.2 80 /api/v1/x)" = 200

# Fail closed: a proxy that cannot start means dropped flows, not open ones.
write_config no-such-user-l7
check "apply with a proxy user that does not exist" $ctl apply
kill -9 "$(proxy_pid)"
wait_for "the failed start" 10 grep -q "user 'no-such-user-l7' does not exist" "$log"
before=$($ctl --json counters | field "[r['packets'] for r in d['drops'] if r['reason']=='proxy-unavailable'][0]")
check "no proxy: the flow is dropped" test "$(tcp_result "$lan" 10.10.2.2 80)" = timeout
after=$($ctl --json counters | field "[r['packets'] for r in d['drops'] if r['reason']=='proxy-unavailable'][0]")
check "no proxy: counted as proxy-unavailable ($before -> $after)" test "$after" -gt "$before"
check_not "no proxy: nothing reached the server" grep -q "/api/v1/while-down" "$server_log"
write_config nobody
check "apply with the proxy user back" $ctl apply
check "the proxy is back: GET /api/v1/x -> 200" \
	wait_for "the proxy" 10 bash -c "test \"\$(ip netns exec $lan python3 $here/l7_checks.py get 10.10.2.2 80 /api/v1/x | cut -d' ' -f1)\" = 200"

finish
