#!/usr/bin/env bash
# sluiced as systemd runs it: the unit file passes systemd-analyze (verify,
# and security with an exposure of at most 3.0), the daemon speaks the
# sd_notify protocol (READY, watchdog pings, RELOADING, STOPPING), and it
# works with only the unit's capabilities (CAP_BPF, CAP_NET_ADMIN,
# CAP_PERFMON; CAP_SETUID and CAP_SETGID to start the L7 proxy as its own
# user). systemd is not PID 1 here, so the unit itself is checked
# offline.
#
#   service_test.sh SLUICED UNIT_FILE
set -uo pipefail
SLUICED=$(realpath "$1")
UNIT=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
test_lab sv

# The unit, pointed at the built binary (verify checks ExecStart exists).
sed "s|/usr/sbin/sluiced|$SLUICED|" "$UNIT" >"$work/sluiced.service"
verify=$(systemd-analyze verify "$work/sluiced.service" 2>&1 | grep -v "Command 'man ")
check "systemd-analyze verify finds nothing but the man pages (packaging)" test -z "$verify"
[[ -n $verify ]] && echo "$verify"
exposure=$(systemd-analyze security --offline=true "$work/sluiced.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for sluiced.service: \([0-9.]*\).*/\1/p')
echo "exposure: $exposure"
check "systemd-analyze security exposure is at most 3.0" python3 -c "import sys; sys.exit(not float('${exposure:-99}') <= 3.0)"

ip netns exec "$wan" python3 -m http.server 80 --bind 10.10.2.2 >/dev/null 2>&1 &
cleanup_add "kill $!"
touch "$work/l7.log"
ip netns exec "$wan" python3 "$here/l7_server.py" 10.10.2.2 8080 "$work/l7.log" 2>/dev/null &
cleanup_add "kill $!"
wait_for "wan server" 20 ip netns exec "$wan" bash -c "exec 3<>/dev/tcp/10.10.2.2/80"
{
	lab_interfaces
	cat <<'TOML'
[chains]
forward = "drop"

[[rule]]
name = "web"
chain = "forward"
from = "10.10.1.0/24"
proto = "tcp"
port = 80
action = "accept"

[[rule]]
name = "web-api"
chain = "forward"
from = "10.10.1.0/24"
proto = "tcp"
port = 8080
action = "accept"
http = [{ method = "GET", path = "/api/v1/.*" }]
TOML
} >"$work/sluice.toml"

# A stand-in for systemd's notify socket, recording what sluiced sends.
ip netns exec "$fw" python3 - "$work/notify.sock" "$work/notify.log" >/dev/null 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    msg = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f:
        f.write(msg.replace("\n", " ") + "\n")
PY
cleanup_add "kill $!"
wait_for "the notify socket" 10 test -S "$work/notify.sock"

log=$work/sluiced.log
# Only the unit's capabilities: the bounding set limits what root keeps.
nsenter --net="/run/netns/$fw" env NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=1000000 \
	setpriv --bounding-set=-all,+bpf,+net_admin,+perfmon,+setuid,+setgid --inh-caps=-all \
	"$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock" 2>>"$log" &
sluiced_pid=$!
cleanup_add "kill $sluiced_pid"
wait_for "READY=1" 20 grep -q "^READY=1" "$work/notify.log" || cat "$log"
check "READY=1 is sent once the datapath is attached" grep -q "running with" "$log"
check "the status says what is enforced" grep -q "STATUS=enforcing 2 rules" "$work/notify.log"
check "with the unit's capabilities only, the rules are enforced" \
	ip netns exec "$lan" curl -sf -m 3 -o /dev/null http://10.10.2.2/
check_not "and what they do not allow is dropped" \
	ip netns exec "$lan" timeout 2 bash -c "exec 3<>/dev/tcp/10.10.2.2/81"
# CAP_SETGID (6), CAP_SETUID (7), CAP_NET_ADMIN (12), CAP_PERFMON (38),
# CAP_BPF (39) and nothing else.
check "the effective capabilities are exactly the unit's" \
	grep -q "^CapEff:[[:space:]]*000000c0000010c0$" "/proc/$sluiced_pid/status"
check "with them, the L7 proxy serves the http rule: GET /api/v1/x" \
	wait_for "the proxy" 10 bash -c "ip netns exec $lan curl -s -m 3 http://10.10.2.2:8080/api/v1/x | grep -q 'GET /api/v1/x'"
check "... and refuses GET /admin (403)" \
	test "$(ip netns exec "$lan" curl -s -m 3 -o /dev/null -w '%{http_code}' http://10.10.2.2:8080/admin)" = 403
check "the proxy has no capabilities" bash -c \
	"grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/\$(pgrep -P $sluiced_pid sluice-proxy)/status"
wait_for "watchdog pings" 5 bash -c "[[ \$(grep -c '^WATCHDOG=1' $work/notify.log) -ge 2 ]]"
check "the watchdog is pinged at half its interval" bash -c "[[ \$(grep -c '^WATCHDOG=1' $work/notify.log) -ge 2 ]]"
# An upgrade under the unit's capabilities: the old daemon leaves the
# datapath enforcing, the new one must recognise the XDP program as
# sluice's without CAP_SYS_ADMIN (looking a program up by id needs it),
# replace it and detach it when it stops.
touch "$work/keep-datapath"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
nsenter --net="/run/netns/$fw" env NOTIFY_SOCKET="$work/notify.sock" WATCHDOG_USEC=1000000 \
	setpriv --bounding-set=-all,+bpf,+net_admin,+perfmon,+setuid,+setgid --inh-caps=-all \
	"$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" --socket "$work/sluice.sock" 2>>"$log" &
sluiced_pid=$!
cleanup_add "kill $sluiced_pid"
wait_for "the second sluiced" 20 bash -c "[[ \$(grep -c 'running with' '$log') -ge 2 ]]"
check "the new daemon took the datapath over" grep -q "took over the datapath pinned in $pins" "$log"
check "and replaced the XDP programs, with the unit's capabilities only" \
	bash -c "[[ \$(grep -c 'attached to lan0' '$log') -ge 2 ]] && ! grep -q 'refusing to replace' '$log'"
check "the rules are still enforced" ip netns exec "$lan" curl -sf -m 3 -o /dev/null http://10.10.2.2/
kill -HUP "$sluiced_pid"
wait_for "reload" 10 bash -c "grep -q '^RELOADING=1' $work/notify.log && [[ \$(grep -c '^READY=1' $work/notify.log) -ge 3 ]]"
check "a reload is announced and followed by READY=1" bash -c "[[ \$(grep -c '^READY=1' $work/notify.log) -ge 3 ]]"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "a stop exits 0" test $? -eq 0
check "STOPPING=1 is sent" grep -q "^STOPPING=1" "$work/notify.log"
check "nothing is left pinned" test ! -e "$pins"
check_not "no XDP program is left on lan0" bash -c "ip -n $fw link show lan0 | grep -q xdp"

# Without a bpf filesystem (a container without the host's bound in) it
# stops at once with what to do, and an exit status the unit does not
# restart on.
mkdir -p "$work/not-bpffs"
nsenter --net="/run/netns/$fw" setpriv --bounding-set=-all,+bpf,+net_admin,+perfmon,+setuid,+setgid --inh-caps=-all \
	"$SLUICED" --config "$work/sluice.toml" --pin-dir "$work/not-bpffs/sluice" --database "" \
	--socket "$work/nobpf.sock" 2>"$work/nobpf.log"
rc=$?
check "no bpffs: exit 78" test "$rc" -eq 78
check "... saying what to do" grep -q "is not on a bpf filesystem; mount one (mount -t bpf bpf /sys/fs/bpf" "$work/nobpf.log"
check "the unit does not restart on it" grep -q "^RestartPreventExitStatus=78" "$UNIT"
check "the unit starts where /sys/fs/bpf is missing (no 226/NAMESPACE)" grep -q "^ReadWritePaths=-/sys/fs/bpf" "$UNIT"
cat "$log"
finish
