#!/usr/bin/env bash
# The .deb under a live systemd: systemd-nspawn boots a Debian 12 container
# with systemd as PID 1, in network namespaces this test makes (one veth to
# a peer namespace, nothing on the host's own interfaces). There the
# maintainer scripts really run: the install enables and starts sluiced
# (systemctl is-active), the rules are enforced on the container's
# interface, an upgrade N -> N+1 keeps a TCP connection through the
# datapath alive (the prerm leaves it enforcing, the new daemon takes it
# over), and a purge leaves nothing (unit, files, pins, programs). Then a
# container without bpffs: the unit starts (no 226/NAMESPACE), sluiced
# stops with exit 78 and says what to do, and systemd does not restart it.
#
# The Debian 12 root filesystem (debootstrap minbase + systemd-sysv, dbus)
# is made once and cached in /var/tmp/sluice-nspawn-cache.
#
#   systemd_package_test.sh BUILD_DIR
set -uo pipefail
build=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# The container binds the host's bpffs: sluice's default pins would land
# in /sys/fs/bpf/sluice, which must not belong to anyone else.
if [[ -e /sys/fs/bpf/sluice ]]; then
	echo "systemd_package_test: /sys/fs/bpf/sluice exists (another sluice?); not touching it" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
work=$(mktemp -d /var/tmp/sluice-nspawn.XXXXXX)
cleanup_add "rm -rf $work"
cleanup_add "rm -rf /sys/fs/bpf/sluice"

(cd "$build" && cpack -G DEB -B "$work/n" >/dev/null 2>&1 &&
	cpack -G DEB -B "$work/n1" -D CPACK_DEBIAN_PACKAGE_RELEASE=2 >/dev/null 2>&1)
deb_n=$work/n/sluice_0.1.0-1_amd64.deb deb_n1=$work/n1/sluice_0.1.0-2_amd64.deb
check "packages N and N+1 are built" test -f "$deb_n" -a -f "$deb_n1"

cache=/var/tmp/sluice-nspawn-cache/bookworm-systemd.tar
if [[ ! -f $cache ]]; then
	mkdir -p "$(dirname "$cache")"
	mirror=$(awk '$1=="URIs:" {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
	mirror=${mirror:-$(awk '$1=="deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
	echo "making the container's root filesystem (once): debootstrap from ${mirror:-http://deb.debian.org/debian}"
	debootstrap --variant=minbase --include=systemd-sysv,dbus bookworm "$work/bootstrap" \
		"${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log"; exit 1; }
	tar -C "$work/bootstrap" -cf "$cache.new" . && mv "$cache.new" "$cache"
	rm -rf "$work/bootstrap"
fi

root=$work/root
mkdir "$root"
tar -C "$root" -xf "$cache"
cp "$deb_n" "$deb_n1" "$root/root/"
# The package's dependencies, fetched while the container still has the
# host's network (booted, it has only the test's namespaces).
deps=$(dpkg-deb -f "$deb_n" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g' | grep -v '^$')
cp /etc/resolv.conf "$root/etc/resolv.conf"
# shellcheck disable=SC2086
check "the package's dependencies install in the container" \
	systemd-nspawn -q -D "$root" --register=no --keep-unit \
	bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(echo $deps)"

# The container's network: its namespace with one veth to a peer.
p=sp$SLUICE_TEST_ID
c=$p-c peer=$p-peer
ns_new "$c"
ns_new "$peer"
veth "$c" eth1 "$peer" eth0
ip -n "$c" addr add 10.10.9.1/24 dev eth1
ip -n "$peer" addr add 10.10.9.2/24 dev eth0

# A machine that cannot boot a container (seen inside the fresh-machine
# tool's chroot: the container's systemd starts but never answers) makes
# this test report itself skipped (exit 77, ctest's SKIP_RETURN_CODE), with
# the console's last lines, rather than fail every check after it.
boot() { # EXTRA_NSPAWN_ARGS...: boots the container, sets pid1
	systemd-nspawn -q -D "$root" -b --register=no --keep-unit --network-namespace-path="/run/netns/$c" \
		--capability=all --system-call-filter='bpf perf_event_open' "$@" >>"$work/console.log" 2>&1 &
	nspawn=$!
	cleanup_add "kill $nspawn 2>/dev/null"
	wait_for "the container's systemd" 30 pgrep -P "$nspawn" -x systemd
	pid1=$(pgrep -P "$nspawn" -x systemd)
	if ! wait_for "the container to boot" 90 bash -c \
		"nsenter -t $pid1 -a systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded'"; then
		echo "SKIPPED: a systemd-nspawn container does not boot on this machine; its console said:"
		tail -15 "$work/console.log" | sed 's/^/     | /'
		exit 77
	fi
}
in_c() { nsenter -t "$pid1" -a -- "$@"; }
poweroff() {
	in_c systemctl poweroff >/dev/null 2>&1
	for ((i = 0; i < 300; i++)); do kill -0 "$nspawn" 2>/dev/null || return 0; sleep 0.1; done
	kill "$nspawn"
	wait "$nspawn" 2>/dev/null
}

boot --bind=/sys/fs/bpf
check "systemd is PID 1 in the container" bash -c "nsenter -t $pid1 -a cat /proc/1/comm | grep -qx systemd"
check "dpkg -i installs version N" in_c dpkg -i /root/sluice_0.1.0-1_amd64.deb
check "the postinst enabled sluiced" bash -c "nsenter -t $pid1 -a systemctl is-enabled sluiced | grep -qx enabled"
wait_for "sluiced to be active" 20 bash -c "nsenter -t $pid1 -a systemctl is-active sluiced | grep -qx active"
check "the postinst started sluiced: systemctl is-active" bash -c "nsenter -t $pid1 -a systemctl is-active sluiced | grep -qx active"
check "sluicectl talks to it" in_c sluicectl status

# Rules on the container's interface: 9000 in, the rest dropped.
cat >"$root/etc/sluice/sluice.toml" <<'TOML'
[[interface]]
name = "eth1"

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "echo"
chain = "input"
from = "10.10.9.2"
proto = "tcp"
port = 9000
action = "accept"
TOML
check "systemctl reload applies the new rules" in_c systemctl reload sluiced
wait_for "eth1 to be attached" 10 bash -c "ip -n $c link show eth1 | grep -q xdp"
echo_server "$c" 10.10.9.1 9000
echo_server "$c" 10.10.9.1 9001
check "the rules are enforced: 9000 is let in" test "$(tcp_result "$peer" 10.10.9.1 9000)" = connected
check "... and 9001 dropped" test "$(tcp_result "$peer" 10.10.9.1 9001)" = timeout

# An L7 rule under the unit: the proxy runs as the user the postinst made.
cat >>"$root/etc/sluice/sluice.toml" <<'TOML'

[[rule]]
name = "web-api"
chain = "input"
from = "10.10.9.2"
proto = "tcp"
port = 8080
action = "accept"
http = [{ method = "GET", path = "/api/v1/.*" }]
TOML
touch "$work/l7.log"
ip netns exec "$c" python3 "$here/l7_server.py" 10.10.9.1 8080 "$work/l7.log" 2>/dev/null &
cleanup_add "kill $!"
check "systemctl reload applies the L7 rule" in_c systemctl reload sluiced
l7_status() { ip netns exec "$peer" curl -s -m 5 -o /dev/null -w '%{http_code}' "http://10.10.9.1:8080$1"; }
check "L7 under systemd: GET /api/v1/x -> 200" wait_for "the proxy" 10 bash -c "test \"\$(ip netns exec $peer curl -s -m 5 -o /dev/null -w '%{http_code}' http://10.10.9.1:8080/api/v1/x)\" = 200"
check "L7 under systemd: GET /admin -> 403" test "$(l7_status /admin)" = 403
check "the proxy runs as sluice-proxy" bash -c "nsenter -t $pid1 -a ps -o user= -C sluice-proxy | grep -qx sluice-proxy"
echo_client "$peer" 10.10.9.1 9000 "$work/echo.count"

# The upgrade, with the connection flowing through the datapath.
before=$(cat "$work/echo.count")
check "dpkg -i upgrades to N+1" in_c dpkg -i /root/sluice_0.1.0-2_amd64.deb
wait_for "the new sluiced to be active" 20 bash -c "nsenter -t $pid1 -a systemctl is-active sluiced | grep -qx active"
check "after the upgrade sluiced is active" bash -c "nsenter -t $pid1 -a systemctl is-active sluiced | grep -qx active"
check "the new sluiced took over the datapath and its tracked flows" bash -c \
	"nsenter -t $pid1 -a journalctl -u sluiced --no-pager | grep -q 'took over the datapath pinned in /sys/fs/bpf/sluice ([1-9]'"
sleep 2
after=$(cat "$work/echo.count")
check "the connection never stopped (echoes $before -> $after)" bash -c "[[ '$after' != broken ]] && (( $after > $before + 5 ))"
check "the installed version is N+1" bash -c "nsenter -t $pid1 -a dpkg-query -W -f='\${Version}' sluice | grep -qx 0.1.0-2"
check "9001 is still dropped" test "$(tcp_result "$peer" 10.10.9.1 9001)" = timeout

# The purge leaves nothing.
check "dpkg -P purges it" in_c dpkg -P sluice
echo "sluiced's journal in the container, last lines:"
in_c journalctl -u sluiced --no-pager -n 12 | sed 's/^/     | /'
check_not "sluiced is no longer active" bash -c "nsenter -t $pid1 -a systemctl is-active sluiced | grep -qx active"
for path in /usr/sbin/sluiced /etc/sluice /var/lib/sluice /lib/systemd/system/sluiced.service /run/sluice \
	/usr/libexec/sluice; do
	check "nothing of sluice remains in the container: $path" test ! -e "$root$path"
done
check "no pins remain" test ! -e /sys/fs/bpf/sluice
check_not "no XDP program remains on eth1" bash -c "ip -n $c link show eth1 | grep -q xdp"
check "traffic is no longer filtered (9001 connects)" test "$(tcp_result "$peer" 10.10.9.1 9001)" = connected
poweroff

# Without bpffs in the container.
boot
check "there is no bpffs in this container" bash -c "! nsenter -t $pid1 -a mountpoint -q /sys/fs/bpf"
in_c dpkg -i /root/sluice_0.1.0-1_amd64.deb >/dev/null 2>&1
wait_for "sluiced to give up" 20 bash -c "nsenter -t $pid1 -a systemctl show -p ExecMainStatus --value sluiced | grep -qx 78"
check "sluiced exits 78, not 226/NAMESPACE" bash -c "nsenter -t $pid1 -a systemctl show -p ExecMainStatus --value sluiced | grep -qx 78"
check "it says what to do" bash -c "nsenter -t $pid1 -a journalctl -u sluiced --no-pager | grep -q 'mount one (mount -t bpf bpf /sys/fs/bpf'"
sleep 5
check "systemd does not restart it" bash -c "nsenter -t $pid1 -a systemctl show -p NRestarts --value sluiced | grep -qx 0"
in_c dpkg -P sluice >/dev/null 2>&1
poweroff
finish
