#!/usr/bin/env bash
# The REST API end to end: sluiced between a lan client and a wan server,
# a user and a read-only token made with sluicectl, then api_checks.py
# (inside the firewall's namespace, where the API listens) and promtool on
# /metrics; finally the same API over HTTPS.
#
#   api_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab ap

web_servers 80 8081 23

write_config() { # EXTRA_API_KEYS
	{
		printf '[api]\nlisten = "127.0.0.1:9090"\n%s\n' "${1:-}"
		lab_interfaces
		decisions_rules
	} >"$work/sluice.toml"
}
write_config

starts=0
start_sluiced() {
	starts=$((starts + 1))
	log=$work/sluiced-$starts.log
	sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" \
		--socket "$work/sluice.sock" --webui "$here/../../webui"
	cleanup_add "kill $sluiced_pid"
	wait_for "sluiced to start" 30 grep -q "running with" "$log" || cat "$log"
}
start_sluiced
ctl() { "$SLUICECTL" --socket "$work/sluice.sock" "$@"; }
check "the API is listening" grep -q "API listening on http://127.0.0.1:9090" "$log"

check "sluicectl user add" bash -c "echo 'correct horse battery' | '$SLUICECTL' --socket '$work/sluice.sock' user add alice"
check_not "a short password is refused" bash -c "echo short | '$SLUICECTL' --socket '$work/sluice.sock' user add bob"
token=$(ctl token add ci-script 2>/dev/null)
check "sluicectl token add prints a token" test "${#token}" -eq 68
check_not "a token name is used once" ctl token add ci-script
check "sluicectl user list" bash -c "'$SLUICECTL' --socket '$work/sluice.sock' user list | grep -q alice"

# A browser signed in now stays signed in across the restart further down;
# one that signed out stays out. (Before api_checks.py, whose last checks
# lock this address out of signing in for a minute.)
login() { # JAR: signs alice in over plain HTTP, prints the CSRF token
	ip netns exec "$fw" curl -s -c "$1" -X POST -d '{"user":"alice","password":"correct horse battery"}' \
		http://127.0.0.1:9090/api/v1/login | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])'
}
csrf=$(login "$work/kept.jar")
gone_csrf=$(login "$work/gone.jar")
check "a second browser signs out" ip netns exec "$fw" curl -sf -b "$work/gone.jar" -H "X-CSRF-Token: $gone_csrf" \
	-H "Content-Type: application/json" -d '{}' http://127.0.0.1:9090/api/v1/logout
check "the database keeps a session as the hash of its id, never the id" python3 - "$work/kept.jar" "$work/sluice.db" <<'PY'
import hashlib, sqlite3, sys
sid = [l.split("\t")[6].strip() for l in open(sys.argv[1]) if "sluice_session" in l][0]
rows = [r[0] for r in sqlite3.connect(sys.argv[2]).execute("SELECT id_hash FROM sessions")]
assert hashlib.blake2b(sid.encode(), digest_size=32).hexdigest() in rows, rows
assert sid not in rows and not any(sid in r for r in rows), rows
PY

ip netns exec "$fw" python3 "$here/api_limits.py" http://127.0.0.1:9090 alice 'correct horse battery' "$token" \
	"$SLUICECTL" "$work/sluice.sock"
check "api_limits.py" test $? -eq 0
# api_limits.py ends with this address refused sign-ins for a minute; a
# restart forgets that (the limiter is in memory), and keeps the sessions.
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
start_sluiced

ip netns exec "$fw" python3 "$here/api_checks.py" http://127.0.0.1:9090 "$work/sluice.toml" "$work/sluice.db" \
	"$here/../../docs/openapi.json" "$lan" alice 'correct horse battery' "$token"
check "api_checks.py" test $? -eq 0

ip netns exec "$fw" curl -sf -H "Authorization: Bearer $token" http://127.0.0.1:9090/metrics >"$work/metrics.txt"
check "/metrics passes promtool check metrics" bash -c "promtool check metrics <'$work/metrics.txt'"
check "/metrics has per-rule counters" grep -qE '^sluice_rule_packets_total\{rule="web",index="0",chain="forward",action="accept"\} [0-9]+$' "$work/metrics.txt"
check "/metrics has drops by reason" grep -q 'sluice_drops_total{reason="policy-rule"} [1-9]' "$work/metrics.txt"
check "/metrics has lost events" grep -q 'sluice_events_lost_total{why="ring_full"} 0' "$work/metrics.txt"
check "/metrics has applies" grep -qE '^sluice_applies_total [0-9]+' "$work/metrics.txt"
check "sluicectl history shows the API's applies" bash -c "'$SLUICECTL' --socket '$work/sluice.sock' history | grep -q 'user alice from 127.0.0.1'"
check "sluicectl audit shows sign-ins" bash -c "'$SLUICECTL' --socket '$work/sluice.sock' audit | grep -q 'sign in'"

# HTTPS with a certificate of our own.
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 \
	-subj "/CN=127.0.0.1" >/dev/null 2>&1
write_config "tls_cert = \"$work/cert.pem\"
tls_key = \"$work/key.pem\""
start_sluiced
check "the API is listening over HTTPS" grep -q "API listening on https://127.0.0.1:9090" "$log"
check "the config history survived the restart" bash -c "'$SLUICECTL' --socket '$work/sluice.sock' history | grep -q 'user alice from 127.0.0.1'"
check "users survived the restart" bash -c "'$SLUICECTL' --socket '$work/sluice.sock' user list | grep -q alice"
check "HTTPS serves the API" bash -c "ip netns exec '$fw' curl -sf --cacert '$work/cert.pem' -H 'Authorization: Bearer $token' https://127.0.0.1:9090/api/v1/status | grep -q '\"ok\":true'"
check_not "plain HTTP is not served then" ip netns exec "$fw" curl -sf -m 3 -H "Authorization: Bearer $token" http://127.0.0.1:9090/api/v1/status
check "the signed-in browser is still signed in after the restart" bash -c \
	"ip netns exec '$fw' curl -sf --cacert '$work/cert.pem' -b '$work/kept.jar' https://127.0.0.1:9090/api/v1/session | grep -q '\"user\":\"alice\"'"
check_not "a change with a wrong CSRF token is still refused" ip netns exec "$fw" curl -sf --cacert "$work/cert.pem" \
	-b "$work/kept.jar" -H "X-CSRF-Token: $gone_csrf" -H "Content-Type: application/json" -d '{}' \
	https://127.0.0.1:9090/api/v1/logout
check "its own CSRF token still works (it signs out)" ip netns exec "$fw" curl -sf --cacert "$work/cert.pem" \
	-b "$work/kept.jar" -H "X-CSRF-Token: $csrf" -H "Content-Type: application/json" -d '{}' \
	https://127.0.0.1:9090/api/v1/logout
check_not "and then it is out" ip netns exec "$fw" curl -sf --cacert "$work/cert.pem" -b "$work/kept.jar" \
	https://127.0.0.1:9090/api/v1/session
check_not "the browser that signed out stays out" ip netns exec "$fw" curl -sf --cacert "$work/cert.pem" \
	-b "$work/gone.jar" https://127.0.0.1:9090/api/v1/session
ip netns exec "$fw" curl -s -i --cacert "$work/cert.pem" -X POST -d '{"user":"alice","password":"correct horse battery"}' \
	https://127.0.0.1:9090/api/v1/login >"$work/tls-login.txt"
check "over HTTPS the session cookie is Secure" grep -qi "set-cookie: .*; Secure" "$work/tls-login.txt"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
