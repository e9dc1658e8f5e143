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

# wait_for DESCRIPTION SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "timed out waiting for $what" >&2
	return 1
}
