# Helpers for the integration tests: network namespaces built and torn down
# by the test itself (no route out of them), and checks that count failures.
# Source it; call `cleanup_add CMD` for anything to undo.

SLUICE_TEST_ID=${SLUICE_TEST_ID:-$$}
failures=0
checks=0
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

pass() { checks=$((checks + 1)); echo "ok   - $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL - $*"; }

# check DESCRIPTION CMD...: passes when CMD succeeds; CMD's output is
# shown only when the check fails.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$what"; else fail "$what"; echo "$out" | sed 's/^/     | /'; fi
}

# check_not DESCRIPTION CMD...: passes when CMD fails.
check_not() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then fail "$what"; echo "$out" | sed 's/^/     | /'; else pass "$what"; fi
}

finish() {
	echo "$((checks - failures)) passed, $failures failed"
	[[ $failures -eq 0 ]]
}

# tcp_result NS ADDR PORT: prints connected / refused / timeout
tcp_result() {
	local out rc
	out=$(ip netns exec "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1)
	rc=$?
	if [[ $rc -eq 0 ]]; then echo connected
	elif [[ $rc -eq 124 ]]; then echo timeout
	elif [[ $out == *"refused"* ]]; then echo refused
	else echo "error($rc): $out"; fi
}

# udp_result NS ADDR PORT: sends a datagram, prints refused (ICMP port
# unreachable came back) or silent.
udp_result() {
	ip netns exec "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.connect((sys.argv[1], int(sys.argv[2])))
try:
    s.send(b"x")
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("silent")
PY
}

# test_lab TAG: the lab (scripts/lib/lab.sh) for one test, interfaces lan0
# and wan0 on the firewall. Sets lan, fw, wan (namespace names), work (a
# temporary directory) and pins (a pin directory); all removed at exit.
test_lab() {
	local p=$1$SLUICE_TEST_ID
	lan=$p-lan fw=$p-fw wan=$p-wan
	test_workdir
	lab_up "$p" lan0 wan0
}

# test_workdir: sets work (a temporary directory) and pins (a pin
# directory on the bpffs, mounted if it is not), both removed at exit.
test_workdir() {
	work=$(mktemp -d)
	pins=/sys/fs/bpf/sluice-test-$SLUICE_TEST_ID
	cleanup_add "rm -rf $work $pins"
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
}

# start_sluiced NS [STARTS]: $SLUICED in namespace NS with
# $work/sluice.toml, the pins of test_workdir, its database and control
# socket in $work; waits until its log says "running with" STARTS times
# (default 1: a restart passes 2). Sets sluiced_pid, log, sock, and ctl
# (sluicectl on that socket, inside NS).
start_sluiced() {
	log=$work/sluiced.log sock=$work/sluice.sock
	sluiced_in "$1" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" \
		--database "$work/sluice.db" --socket "$sock"
	cleanup_add "kill $sluiced_pid"
	ctl="nsenter --net=/run/netns/$1 $SLUICECTL --socket $sock"
	wait_for "sluiced to start" 20 bash -c "test \$(grep -c 'running with' $log) -ge ${2:-1}" ||
		{ cat "$log"; exit 1; }
}

# field EXPR: the Python expression EXPR over the JSON on stdin (as d).
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# lab_interfaces: the [[interface]] entries of a test_lab firewall, to
# start a sluice.toml with.
lab_interfaces() {
	printf '[[interface]]\nname = "lan0"\n\n[[interface]]\nname = "wan0"\n\n'
}

# echo_server NS ADDR PORT: a TCP echo server, stopped at exit.
echo_server() {
	ip netns exec "$1" python3 - "$2" "$3" >/dev/null 2>&1 <<'PY' &
import socket, sys, threading
srv = socket.create_server((sys.argv[1], int(sys.argv[2])))
def echo(c):
    while (data := c.recv(100)):
        c.sendall(data)
while True:
    threading.Thread(target=echo, args=(srv.accept()[0],), daemon=True).start()
PY
	cleanup_add "kill $!"
	wait_for "the echo server" 20 ip netns exec "$1" bash -c "exec 3<>/dev/tcp/$2/$3"
}

# echo_client NS ADDR PORT FILE: one long TCP connection that sends a line
# every 100 ms and writes the number of echoes so far to FILE ("broken"
# once an echo fails or times out, and why to FILE.why). Returns once the
# first echo came back.
echo_client() {
	ip netns exec "$1" python3 - "$2" "$3" "$4" >/dev/null 2>&1 <<'PY' &
import os, socket, sys, time
def publish(text):
    # Readers must never see the file half written (truncated, still empty).
    with open(sys.argv[3] + ".tmp", "w") as f:
        f.write(text)
    os.replace(sys.argv[3] + ".tmp", sys.argv[3])
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
n = 0
why = ""
try:
    while True:
        s.sendall(b"ping\n")
        echo = b""
        while not echo.endswith(b"\n"):  # TCP may deliver the line in parts
            part = s.recv(100)
            if not part:
                raise OSError("the connection was closed")
            echo += part
        if echo != b"ping\n":
            raise OSError(f"echo {echo!r}")
        n += 1
        publish(str(n))
        time.sleep(0.1)
except OSError as e:
    why = f"after {n} echoes: {e!r}"
with open(sys.argv[3] + ".why", "w") as f:
    f.write(why + "\n")
publish("broken")
PY
	cleanup_add "kill $!"
	wait_for "the echo client" 10 bash -c "[[ \$(cat $4 2>/dev/null) -gt 0 ]]"
}

# echoes_growing FILE: the echo count of an echo_client grows within 1.5 s
# (when not, says why the client broke, if it did).
echoes_growing() {
	local before after
	before=$(cat "$1" 2>/dev/null)
	sleep 1.5
	after=$(cat "$1" 2>/dev/null)
	[[ $before =~ ^[0-9]+$ && $after =~ ^[0-9]+$ && $after -gt $before ]] && return 0
	echo "     echoes: $before -> $after; the client: $(cat "$1.why" 2>/dev/null || echo 'still waiting')" >&2
	return 1
}

# web_servers PORT...: python web servers on the wan host (10.10.2.2),
# stopped at exit; returns once they answer.
web_servers() {
	local port
	for port in "$@"; do
		ip netns exec "$wan" python3 -m http.server "$port" --bind 10.10.2.2 >/dev/null 2>&1 &
		cleanup_add "kill $!"
	done
	for port in "$@"; do
		wait_for "wan server on $port" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/10.10.2.2/$port" || return 1
	done
}

# web_port_rules PORT...: chains that drop what is not allowed, and a
# rule web-PORT letting the lan reach each PORT of the wan.
web_port_rules() {
	local port
	printf '[chains]\ninput = "drop"\nforward = "drop"\noutput = "accept"\n'
	for port in "$@"; do
		printf '\n[[rule]]\nname = "web-%s"\nchain = "forward"\nfrom = "10.10.1.0/24"\n' "$port"
		printf 'proto = "tcp"\nport = %s\naction = "accept"\n' "$port"
	done
}

# decisions_rules: the rules of the flow, API and web UI tests (after the
# lab's interfaces): web (80, 8081) accepted from the lan at line 12 of
# the file, telnet rejected (line 20), smb dropped (line 27, and logged),
# everything else forwarded dropped by the default.
decisions_rules() {
	cat <<'TOML'
[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "web"
chain = "forward"
from = "10.10.1.0/24"
proto = "tcp"
port = [80, 8081]
action = "accept"

[[rule]]
name = "no-telnet"
chain = "forward"
proto = "tcp"
port = 23
action = "reject"

[[rule]]
name = "no-smb"
chain = "forward"
proto = "tcp"
port = 445
action = "drop"
log = true
TOML
}

# server_certificate ADDRESS: a CA ($work/ca.crt) and a certificate of it
# for ADDRESS ($work/server.crt, server.key), as the replay API server
# (tests/k8s/replay_server.py) presents. Exits when openssl fails.
server_certificate() {
	(
		cd "$work" || exit 1
		local ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
		openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=replay-ca &&
			openssl req $ec -keyout server.key -out server.csr -subj "/CN=$1" &&
			printf 'subjectAltName=IP:%s\n' "$1" >ext &&
			openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
				-out server.crt -days 2 -extfile ext
	) >/dev/null 2>&1 || {
		echo "openssl failed"
		exit 1
	}
}
