#!/usr/bin/env bash
# containerd 1.6 (`ctr run --cni`) with sluice-cni as its network: the same
# wiring as podman gets (addresses, rules by container name, flows naming
# the containers), and the DEL containerd sends after `ctr run --rm` with
# an EMPTY CNI_NETNS (the container's process, and so /proc/PID/ns/net, is
# gone by then) cleans up. containerd runs with its own configuration,
# state and socket under a temporary directory; `ctr run --cni` reads
# /etc/cni/net.d and /opt/cni/bin only, so the test puts a conflist first
# there (00-...) and a plugin under a name of its own, and removes both.
#
#   containerd_test.sh SLUICED SLUICECTL SLUICE_CNI
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

for tool in containerd ctr runc podman busybox; do
	command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/setup"; exit 1; }
done

p=ctd$SLUICE_TEST_ID
fw=$p-fw
test_workdir
ns_new "$fw"

cat >"$work/sluice.toml" <<'TOML'
[containers]
ipv4 = "10.89.0.0/24"

[router]
forwarding = true

[chains]
input = "drop"
forward = "drop"
output = "accept"

[[rule]]
name = "clients-to-web"
chain = "forward"
from = { container = "default-client*" }
to = { container = "default-web*" }
proto = "tcp"
port = 80
action = "accept"
TOML

start_sluiced "$fw"

# Where ctr looks, under names no one else uses.
plugin=sluice-cni-test-$SLUICE_TEST_ID
conflist=/etc/cni/net.d/00-sluice-test-$SLUICE_TEST_ID.conflist
made_bin_dir=
[[ -d /opt/cni/bin ]] || made_bin_dir=1
mkdir -p /opt/cni/bin /etc/cni/net.d
[[ -n $made_bin_dir ]] && cleanup_add "rmdir /opt/cni/bin /opt/cni"
cleanup_add "rm -f /opt/cni/bin/$plugin $conflist"
ln -s "$(readlink -f "$CNI")" "/opt/cni/bin/$plugin"
cat >"$conflist" <<JSON
{"cniVersion": "1.0.0", "name": "sluice", "plugins": [
  {"type": "$plugin", "socket": "$sock", "pending_dir": "$work/pending"}]}
JSON

# containerd of its own (no CRI), in the firewall's namespace.
mkdir -p "$work/containerd"
cat >"$work/containerd/config.toml" <<TOML
version = 2
root = "$work/containerd/root"
state = "$work/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd/containerd.sock"
[ttrpc]
  address = "$work/containerd/containerd.sock.ttrpc"
[debug]
  address = "$work/containerd/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/containerd/opt"
TOML
nsenter --net="/run/netns/$fw" containerd --config "$work/containerd/config.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
C="ctr -a $work/containerd/containerd.sock"
# Tasks go before containerd, containerd before the directory.
cleanup_add "kill $containerd_pid; sleep 0.5"
cleanup_add "for t in \$($C task ls -q); do $C task kill -s KILL \$t; sleep 0.3; $C task rm -f \$t; done"
wait_for "containerd" 20 $C version || { cat "$work/containerd.log"; exit 1; }

# The busybox image, through podman as an OCI archive (no registry here).
mkdir -p "$work/rootfs/bin" "$work/rootfs/www"
cp /bin/busybox "$work/rootfs/bin/"
for applet in sh httpd nc sleep; do ln -s busybox "$work/rootfs/bin/$applet"; done
echo "hello from web-1" >"$work/rootfs/www/index.html"
pm() { podman --root "$work/podman" --runroot "$work/podman-run" --storage-driver vfs "$@"; }
tar -C "$work/rootfs" -c . | pm import --change 'CMD ["/bin/sh"]' - localhost/sluice-busybox >/dev/null
pm save --format oci-archive -o "$work/image.tar" localhost/sluice-busybox >/dev/null 2>&1
check "the image is imported into containerd" $C images import --snapshotter native "$work/image.tar"
image=localhost/sluice-busybox:latest
run_d() { nsenter --net="/run/netns/$fw" $C run -d --cni --snapshotter native "$image" "$@"; }

echo "--- ctr run --cni"
check "run web-1 (a web server)" run_d web-1 httpd -f -p 80 -h /www
check "run client-1" run_d client-1 sleep 600
check "run other-1" run_d other-1 sleep 600
eps=$($ctl --json endpoints)
ip_of() { echo "$eps" | field "next(e['addresses'][0] for e in d['endpoints'] if e['name'] == '$1')"; }
web=$(ip_of default-web-1)
echo "     web-1 is $web"
check "containerd's containers are wired, named namespace-id" \
	test "$(echo "$eps" | field 'sorted(e["name"] for e in d["endpoints"])')" = "['default-client-1', 'default-other-1', 'default-web-1']"
n=0
page_from() {
	n=$((n + 1))
	printf 'GET / HTTP/1.0\r\n\r\n' | $C task exec --exec-id "get$n" "$1" nc -w 3 "$web" 80 2>&1
	echo "(exit $?)"
}
check "client-1 gets web-1's page" grep -q 'hello from web-1' <<<"$(page_from client-1)"
other=$(page_from other-1)
echo "     other-1: $other"
# Dropped, not refused: nc fails without an answer (its wording differs
# between machines; the flow log below says it was a drop).
check "other-1 gets no answer" bash -c "[[ '$other' != *'hello from'* && '$other' != *refused* && '$other' == *'(exit 1)' ]]"
check "the flow names the rule and both containers" \
	bash -c "$ctl flows | tee /dev/stderr | grep clients-to-web | grep default-client-1 | grep -q default-web-1"
check "other-1's flow was dropped by the default" \
	bash -c "$ctl flows --verdict dropped | grep default-other-1 | grep -q 'default-web-1'"

echo "--- ctr run --rm: DEL with an empty CNI_NETNS"
nsenter --net="/run/netns/$fw" $C run --rm --cni --snapshotter native "$image" client-2 sleep 2 &
run_pid=$!
wait_for "client-2 wired" 10 bash -c "$ctl --json endpoints | grep -q default-client-2"
check "client-2 was wired" bash -c "$ctl --json endpoints | grep -q default-client-2"
wait "$run_pid"
check "after it ended, its endpoint is gone" bash -c "! $ctl --json endpoints | grep -q default-client-2"
check "and its address released" \
	test "$(sqlite3 "$work/sluice.db" "select count(*) from container_addresses where container_id = 'default-client-2'")" = 0
check "its host end too" test "$(ip -n "$fw" -o link | grep -c ' sl[0-9a-f]\{12\}')" = 3

echo "--- ctr task rm sends no DEL: GC reclaims"
for t in web-1 client-1 other-1; do
	$C task kill -s KILL "$t"
done
sleep 0.5
for t in web-1 client-1 other-1; do $C task rm -f "$t" >/dev/null 2>&1; done
check "their host ends went with their namespaces" bash -c "! ip -n $fw -o link | grep -q ' sl[0-9a-f]\{12\}'"
check "sluicectl endpoints shows them no longer attached" \
	test "$($ctl --json endpoints | field '[e["attached"] for e in d["endpoints"]]')" = "[False, False, False]"
printf '{"cniVersion": "1.1.0", "name": "sluice", "type": "%s", "socket": "%s", "cni.dev/valid-attachments": []}' "$plugin" "$sock" |
	CNI_COMMAND=GC CNI_PATH=/opt/cni/bin "/opt/cni/bin/$plugin"
check "GC with no valid attachment: every address released" \
	test "$(sqlite3 "$work/sluice.db" 'select count(*) from container_addresses')" = 0
check "and no endpoint left" test "$($ctl --json endpoints | field 'len(d["endpoints"])')" = 0
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
