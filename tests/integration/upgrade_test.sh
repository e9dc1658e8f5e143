#!/usr/bin/env bash
# Upgrading the package under a live TCP connection: version N is
# installed and running with a connection through its datapath; the stop
# an upgrade makes leaves the datapath enforcing; N+1 is installed over it
# and its sluiced takes over: the connection never stops.
#
# systemd is not PID 1 on the test machines, so what it would do for the
# maintainer scripts is done here by hand: start /usr/sbin/sluiced, and
# for the upgrade the prerm's flag file plus a SIGTERM (systemctl stop).
#
#   upgrade_test.sh BUILD_DIR
set -uo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

if dpkg -s sluice >/dev/null 2>&1; then
	echo "upgrade_test: sluice is installed on this machine already; not touching it" >&2
	exit 1
fi
test_lab up
(cd "$build" && cpack -G DEB -B "$work/n" >/dev/null 2>&1 &&
	cpack -G DEB -B "$work/n1" -D CPACK_DEBIAN_PACKAGE_RELEASE=2 >/dev/null 2>&1)
check "packages N and N+1 are built" test -f "$work/n/sluice_0.1.0-1_amd64.deb" -a -f "$work/n1/sluice_0.1.0-2_amd64.deb"

cleanup_add "dpkg -P sluice"
cleanup_add "rm -rf /run/sluice/keep-datapath /sys/fs/bpf/sluice"
check "version N installs" dpkg -i "$work/n/sluice_0.1.0-1_amd64.deb"

{
	lab_interfaces
	cat <<'TOML'
[chains]
forward = "drop"

[[rule]]
name = "stream"
chain = "forward"
from = "10.10.1.0/24"
proto = "tcp"
port = 9000
action = "accept"
TOML
} >/etc/sluice/sluice.toml

echo_server "$wan" 10.10.2.2 9000
log=$work/sluiced.log
sluiced_in "$fw" "$log" /usr/sbin/sluiced
cleanup_add "kill $sluiced_pid"
wait_for "sluiced N to start" 20 grep -q "running with" "$log" || cat "$log"
echo_client "$lan" 10.10.2.2 9000 "$work/echoes"
check "the connection flows through version N" echoes_growing "$work/echoes"

# The upgrade: prerm's flag, systemctl stop, dpkg -i N+1, postinst's start.
mkdir -p /run/sluice
touch /run/sluice/keep-datapath
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "version N stopped for the upgrade, leaving the datapath" grep -q "stopping for an upgrade" "$log"
check "while no sluiced runs, the connection flows" echoes_growing "$work/echoes"
check "version N+1 installs over N" dpkg -i "$work/n1/sluice_0.1.0-2_amd64.deb"
check "the config (a conffile) is kept" grep -q 'name = "stream"' /etc/sluice/sluice.toml
sluiced_in "$fw" "$log" /usr/sbin/sluiced
cleanup_add "kill $sluiced_pid"
wait_for "sluiced N+1 to start" 20 bash -c "[[ \$(grep -c 'running with' $log) -ge 2 ]]"
check "version N+1 took over the tracked connection" grep -qE "took over the datapath pinned in /sys/fs/bpf/sluice \([1-9]" "$log"
check "the connection flows through version N+1" echoes_growing "$work/echoes"
check_not "the connection never broke" grep -q broken "$work/echoes"

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
check "dpkg -P removes it" dpkg -P sluice
check "nothing is left pinned or installed" bash -c "[[ ! -e /sys/fs/bpf/sluice && ! -e /usr/sbin/sluiced && ! -e /etc/sluice ]]"
finish
