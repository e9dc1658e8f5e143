#!/usr/bin/env bash
# sluicectl against a running sluiced: every command's output and exit
# code, --json, error exits, and commit-confirm with real traffic: an apply
# that blocks the client rolls back by itself unless confirmed.
#
#   sluicectl_test.sh SLUICED SLUICECTL
set -uo pipefail
SLUICED=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

test_lab sc
sluicectl() { "$SLUICECTL_BIN" --socket "$work/sluice.sock" "$@"; }
SLUICECTL_BIN=$2

web_servers 80 81

config() { # PORTS_ALLOWED...
	{
		lab_interfaces
		web_port_rules "$@"
		printf '\n[[rule]]\nname = "ping"\nchain = "forward"\nproto = "icmp"\naction = "accept"\n'
	} >"$work/sluice.toml"
}
reach() { ip netns exec "$lan" curl -sf -m 2 -o /dev/null "http://10.10.2.2:$1/"; }
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

config 80 81
log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 20 grep -q "running with" "$log" || cat "$log"

check "port 80 is reachable" reach 80
check "port 81 is reachable" reach 81

# status
out=$(sluicectl status)
check "status exits 0" test $? -eq 0
check "status names the config and its rules" grep -q "config $work/sluice.toml (3 rules" <<<"$out"
check "status lists the attached interfaces" grep -q "interfaces: lan0 (XDP native), wan0 (XDP native)" <<<"$out"
check "status --json has the rule count" test "$(sluicectl --json status | json_get 'd["rules"]')" = 3

# version: the daemon's and its BPF objects', which are the ones this
# build compiled.
out=$(sluicectl version)
check "version names the daemon" grep -q "^sluiced [0-9]" <<<"$out"
bpf_dir=$(dirname "$SLUICED")/../bpf
for obj in xdp_ingress tc_ingress tc_egress; do
	sum=$(sha256sum <"$bpf_dir/$obj.bpf.o")
	check "version shows the sha256 of $obj.bpf.o as built" grep -q "$obj.bpf.o sha256 ${sum%% *}" <<<"$out"
done
check_not "version takes no arguments" sluicectl version --verbose

# rules, with hit counters
out=$(sluicectl rules)
check "rules shows each rule in order with its counters" \
	grep -qE "^0 +forward +web-80 +10.10.1.0/24 +any +tcp 80 +accept +[1-9]" <<<"$out"
check "rules shows the chain defaults" grep -qE "^- +forward +\(default\) +drop" <<<"$out"
check "rules says where in the TOML each rule is" grep -qE "^0 +forward +web-80 .* line [1-9][0-9]*$" <<<"$out"
check "rules --json counts the packets of web-81" \
	test "$(sluicectl --json rules | json_get 'd["rules"][1]["packets"] >= 1')" = True

# conntrack and counters
check "conntrack lists the client's flows by protocol name" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' conntrack | grep -qE '^tcp +10.10.1.10:[0-9]+ +10.10.2.2:80 '"
ip netns exec "$lan" ping -c1 -W1 10.10.2.2 >/dev/null 2>&1
check "an ICMP flow shows its echo id and no ports" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' conntrack | grep -qE '^icmp id [0-9]+ +10.10.1.10 +10.10.2.2 '"
check "conntrack --filter keeps matching flows" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' conntrack --filter 10.10.2.2 | grep -q 10.10.2.2:81"
check "conntrack --filter drops the others" test "$(sluicectl conntrack --filter 192.0.2.1 | wc -l)" = 1
out=$(sluicectl conntrack --filter 10.10.2 2>&1)
check "conntrack --filter with no address fails" test $? -ne 0
check "conntrack --filter with no address says why" \
	grep -qF "filter must be an address (IPv4 or IPv6), not '10.10.2'" <<<"$out"
check "conntrack --json has the flow's rule" \
	bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' --json conntrack | grep -q '\"rule\": \"web-80\"'"
ip netns exec "$lan" curl -sf -m 2 -o /dev/null "http://10.10.2.2:82/"
check "counters shows default-policy drops" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' counters | grep -qE '^policy-default +[1-9]'"

# diff
config 80
cp "$work/sluice.toml" "$work/only80.toml"
out=$(sluicectl diff "$work/only80.toml")
check "diff names the removed rule" grep -q "removed rule 'web-81': forward: 10.10.1.0/24 -> any tcp 81 accept" <<<"$out"
printf 'bogus = 1\n' >"$work/bad.toml"
check_not "diff of a bad file fails" sluicectl diff "$work/bad.toml"
check "diff of a bad file reports file:line:col" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' diff '$work/bad.toml' 2>&1 | grep -q '$work/bad.toml:1:1: bogus: unknown key'"

# commit-confirm: the config file now blocks 81; unconfirmed, it rolls back.
out=$(sluicectl apply --confirm-within 3s)
check "apply with a deadline exits 0" test $? -eq 0
check "apply lists what changed" grep -q "removed rule 'web-81'" <<<"$out"
check "apply says how to confirm" grep -q "confirm within 3 s" <<<"$out"
check_not "the applied rules hold at once (81 dropped)" reach 81
check "status shows the pending confirmation" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' status | grep -q 'waiting for confirmation'"
sleep 4
check "unconfirmed, the old rules are back (81 reachable)" reach 81
check "the rollback is logged" grep -q "not confirmed in time: rolling back" "$log"
check_not "confirm with nothing pending fails" sluicectl confirm

check "the rollback put the old text back in the file" grep -q "web-81" "$work/sluice.toml"
config 80
check "apply with a longer deadline" sluicectl apply --confirm-within 30s
check "confirm keeps it" sluicectl confirm
sleep 1
check_not "confirmed, the new rules stay (81 dropped)" reach 81
check "rollback returns to the previous ruleset" sluicectl rollback
check "after rollback 81 is reachable" reach 81

# A bad config through apply: refused with its location, rules unchanged.
printf '\n[[rule]]\nname = "x"\nchain = "sideways"\naction = "drop"\n' >>"$work/sluice.toml"
check_not "apply of a bad config fails" sluicectl apply
check "the failure reports file:line:col" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' apply 2>&1 | grep -q \"$work/sluice.toml:[0-9]*:9: rule 'x'.chain: 'sideways' is not a chain\""
check "apply --json of a bad config carries the diagnostics" \
	test "$(sluicectl --json apply | json_get 'd["diagnostics"][0]["key"]')" = "rule 'x'.chain"
check "the running rules stay (81 reachable)" reach 81

# Audit mode: a drop rule that only counts and logs.
config 80 81
printf '\n[[rule]]\nname = "audit-82"\nchain = "forward"\nproto = "tcp"\nport = 82\naction = "drop"\nmode = "audit"\n' >>"$work/sluice.toml"
printf '\n[[rule]]\nname = "web-82"\nchain = "forward"\nproto = "tcp"\nport = 82\naction = "accept"\n' >>"$work/sluice.toml"
ip netns exec "$wan" python3 -m http.server 82 --bind 10.10.2.2 >/dev/null 2>&1 &
cleanup_add "kill $!"
wait_for "wan server on 82" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/10.10.2.2/82"
check "apply with an audit rule" sluicectl apply
check "the audited drop lets traffic through" reach 82
wait_for "the audit event" 5 grep -q "audit: rule 'audit-82' would drop tcp 10.10.1.10:[0-9]* -> 10.10.2.2:82 (let through)" "$log"
check "the audit event is logged with rule and flow" grep -q "audit: rule 'audit-82' would drop tcp 10.10.1.10:[0-9]* -> 10.10.2.2:82" "$log"
check "counters show what audit mode let through" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' counters | grep -qE '^would rule-drop +[1-9]'"
check "rules mark the audit rule" bash -c "'$SLUICECTL_BIN' --socket '$work/sluice.sock' rules | grep -qE 'audit-82 .* drop \(audit\) +[1-9]'"

# Malformed requests straight to the socket: a specific error each, and the
# daemon keeps serving.
raw() { # REQUEST-BYTES (python literal)
	python3 - "$work/sluice.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
try:
    s.sendall(eval(sys.argv[2]))
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass  # the daemon stopped reading a request that was too large
print(s.recv(65536).decode(errors="replace").strip())
PY
}
check "bad JSON gets a specific error" grep -q '"error":"the request is not valid JSON"' <<<"$(raw 'b"{nope"')"
check "a request without a command is refused" grep -q 'a request is a JSON object with a \\"command\\" string' <<<"$(raw 'b"[1,2]"')"
check "an unknown command is refused by name" grep -q "unknown command 'frob'" <<<"$(raw 'b"{\"command\": \"frob\"}"')"
check "bad UTF-8 gets an error, not a crash" grep -q '"ok":false' <<<"$(raw 'b"{\"command\": \"\\xff\xfe\"}"')"
check "a bad confirm deadline is refused" grep -q 'confirm_within_seconds must be 1 to 86400' <<<"$(raw 'b"{\"command\": \"apply\", \"confirm_within_seconds\": -5}"')"
check "a huge request is refused" grep -q '"error":"request too large"' <<<"$(raw 'b"{" + b" " * 200000 + b"}"')"
check "the daemon still answers after all that" sluicectl status

# Error exits.
sluicectl frobnicate 2>/dev/null
check "an unknown command exits 2" test $? -eq 2
sluicectl apply --confirm-within soon 2>/dev/null
check "a bad duration exits 2" test $? -eq 2
"$SLUICECTL_BIN" --socket "$work/nobody.sock" status 2>/dev/null
check "an unreachable daemon exits 3" test $? -eq 3
"$SLUICECTL_BIN" validate "$work/missing.toml" 2>/dev/null
check "validate of a missing file exits 1" test $? -eq 1
check "validate of a good file exits 0" "$SLUICECTL_BIN" validate "$work/only80.toml"
check "--version prints the version" bash -c "'$SLUICECTL_BIN' --version | grep -q '^sluicectl [0-9]'"

# Who may use the socket is the kernel's word (SO_PEERCRED), not only the
# file's mode: loosen the mode and a user other than root is still refused.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
chmod 0711 "$work"
chmod 0666 "$work/sluice.sock"
out=$(as_nobody "$SLUICECTL_BIN" --socket "$work/sluice.sock" status 2>&1)
check "a user other than root is refused even on a loosened socket" grep -q "only root, or the read-only group" <<<"$out"
check "root still is served" sluicectl status

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "the control socket is removed on stop" test ! -e "$work/sluice.sock"

# A read-only group: its members read, and change nothing.
ctl=$work/ctl/sluice.sock
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" \
	--socket "$ctl" --socket-group nogroup
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start with a read-only group" 20 "$SLUICECTL_BIN" --socket "$ctl" status
check "the socket is the group's, read and write (to connect)" test "$(stat -c '%a %G' "$ctl")" = "660 nogroup"
check "the directory sluiced made is the group's to enter" test "$(stat -c '%a %G' "$work/ctl")" = "750 nogroup"
check "a member of the group reads the status" as_nobody "$SLUICECTL_BIN" --socket "$ctl" status
out=$(as_nobody "$SLUICECTL_BIN" --socket "$ctl" apply 2>&1)
check "... but may not apply" grep -q "this caller may only read (uid 65534 (read-only group" <<<"$out"
out=$(as_nobody "$SLUICECTL_BIN" --socket "$ctl" diff "$work/only80.toml" 2>&1)
check "... nor have the daemon read a file by path" grep -q "only root on the control socket may have sluiced read a file by path" <<<"$out"
chmod 0666 "$ctl"
chmod 0755 "$work/ctl"  # loosened too: only the credentials check is left
out=$(setpriv --reuid=65534 --regid=1 --clear-groups "$SLUICECTL_BIN" --socket "$ctl" status 2>&1)
check "a user outside the group is refused" grep -q "only root, or the read-only group" <<<"$out"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
