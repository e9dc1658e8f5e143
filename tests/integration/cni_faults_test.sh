#!/usr/bin/env bash
# sluice-cni and sluiced under faults: kill -9 of sluiced during a storm of
# ADDs, kill -9 of the plugin in the middle of ADDs, a DEL while sluiced is
# down; the runtime then does what the spec asks of it (a DEL for every
# ADD that failed), and a GC. Afterwards nothing is left: no host ends, no
# routes, no IPAM rows, no endpoint or identity map entries, no endpoint
# records; and every container that was reported added was protected
# throughout (sluice's programs on its host end, its anti-spoofing entry).
#
#   cni_faults_test.sh SLUICED SLUICECTL SLUICE_CNI
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

p=cft$SLUICE_TEST_ID
fw=$p-fw
test_workdir
ns_new "$fw"
storm=48
for i in $(seq 1 $storm); do ns_new "$p-s$i"; done
for i in 1 2 3 4 5 6 7 8; do ns_new "$p-k$i"; done

cat >"$work/sluice.toml" <<'TOML'
[containers]
ipv4 = "10.89.0.0/24"
ipv6 = "fd00:89::/64"

[[endpoint]]
match = { container = "*" }
labels = { tier = "test" }

[[rule]]
name = "to-tests"
chain = "forward"
to = { labels = { tier = "test" } }
action = "accept"
TOML
starts=0
restart() { starts=$((starts + 1)); start_sluiced "$fw" "$starts"; }
restart

# cni COMMAND ID NETNS: the plugin as a runtime runs it; stdout to
# $work/out-ID, exit status to $work/rc-ID.
cni() {
	printf '{"cniVersion": "1.1.0", "name": "box", "type": "sluice-cni", "socket": "%s", "pending_dir": "%s"}' "$sock" "$work/cni-pending" |
		CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_NETNS=$3 CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAME=$2" \
			CNI_PATH=/usr/lib/cni "$CNI" >"$work/out-$2"
	echo $? >"$work/rc-$2"
}
added() { [[ $(cat "$work/rc-$1" 2>/dev/null) == 0 ]]; }
host_ends() { ip -n "$fw" -o link | grep -o ' sl[0-9a-f]\{12\}' | tr -d ' ' | sort; }
# protected ID: sluice's tc program on its host end and its anti-spoofing entry.
protected() {
	local host
	host=$($ctl --json endpoints | field "next(e['host_end'] for e in d['endpoints'] if e['container_id'] == '$1')") || return 1
	ip netns exec "$fw" tc filter show dev "$host" ingress | grep -q sluice || return 1
	bpftool -j map dump pinned "$pins/endpoints" | python3 -c "
import json, sys
idx = int(sys.argv[1])
keys = [int.from_bytes(bytes(int(b, 16) for b in e['key']), 'little') for e in json.load(sys.stdin)]
sys.exit(0 if idx in keys else 1)" "$(cat "/sys/class/net/$host/ifindex" 2>/dev/null || ip netns exec "$fw" cat "/sys/class/net/$host/ifindex")"
}
map_entries() { bpftool -j map dump pinned "$pins/$1" | field 'len(d)'; }

echo "--- kill -9 of sluiced during an ADD storm"
for i in $(seq 1 $storm); do cni ADD "s$i" "/run/netns/$p-s$i" & done
# Killed once a few have finished: some done, some in flight, some waiting.
wait_for "the first ADD" 20 bash -c "ls $work/rc-s* >/dev/null 2>&1"
kill -9 "$sluiced_pid"
wait
ok=0
for i in $(seq 1 $storm); do added "s$i" && ok=$((ok + 1)); done
echo "     $ok of $storm ADDs reported success before sluiced died"
check "the kill came in the middle of the storm" test "$ok" -ge 1 -a "$ok" -lt "$storm"
check "ADDs after the kill failed with 'try again later' (11)" bash -c "
	for i in \$(seq 1 $storm); do
		rc=\$(cat $work/rc-s\$i); [[ \$rc == 0 ]] && continue
		grep -q '\"code\":11' $work/out-s\$i || { cat $work/out-s\$i; exit 1; }
	done"
check "with sluiced down, the ones reported added keep sluice's programs" bash -c "
	for i in \$(seq 1 $storm); do
		[[ \$(cat $work/rc-s\$i) == 0 ]] || continue
		n=\$(ip netns exec $p-s\$i ip -o link show eth0 | cut -d@ -f2 | cut -d: -f1)
		h=\$(ip -n $fw -o link | grep \"^\${n#if}:\" | awk '{print \$2}' | cut -d@ -f1)
		ip netns exec $fw tc filter show dev \$h ingress | grep -q sluice || { echo s\$i \$h; exit 1; }
	done"
restart
for i in $(seq 1 $storm); do
	if added "s$i"; then
		check "s$i (reported added) is protected after the restart" protected "s$i"
	else
		cni DEL "s$i" "/run/netns/$p-s$i" # what the runtime does after a failed ADD
		check "the DEL after s$i's failed ADD succeeds" added "s$i"
	fi
done

echo "--- kill -9 of the plugin in the middle of ADDs"
for i in 1 2 3 4 5 6 7 8; do
	cni ADD "k$i" "/run/netns/$p-k$i" &
	plugin_pid=$!
	sleep "0.00$i"
	pkill -9 -P "$plugin_pid" sluice-cni 2>/dev/null
	kill -9 "$plugin_pid" 2>/dev/null
	wait "$plugin_pid" 2>/dev/null
done
sleep 0.5
for i in 1 2 3 4 5 6 7 8; do
	cni DEL "k$i" "/run/netns/$p-k$i" # the runtime saw no result: it DELs
	check "the DEL after k$i's interrupted ADD succeeds" added "k$i"
done
check "the interrupted containers hold no address" \
	test "$(sqlite3 "$work/sluice.db" "select count(*) from container_addresses where container_id like 'k%'")" = 0
cni ADD k1 "/run/netns/$p-k1"
check "an ADD retried after that succeeds" added k1
check "and k1 is protected" protected k1

echo "--- a DEL while sluiced is down, then GC"
kill -9 "$sluiced_pid"
wait "$sluiced_pid" 2>/dev/null
cni DEL k1 "/run/netns/$p-k1"
check "DEL with sluiced down succeeds (kept for later)" added k1
check "k1 stays protected meanwhile" bash -c "ip netns exec $fw tc filter show dev \$(ip -n $fw -o link | grep -o 'sl[0-9a-f]\{12\}' | head -1) ingress | grep -q sluice"
restart
printf '{"cniVersion": "1.1.0", "name": "box", "type": "sluice-cni", "socket": "%s", "cni.dev/valid-attachments": []}' "$sock" |
	CNI_COMMAND=GC CNI_PATH=/usr/lib/cni "$CNI"
check "GC of everything succeeds" test $? = 0

echo "--- nothing left"
check "no host end" test -z "$(host_ends)"
check "no route to a container" bash -c "! ip -n $fw route | grep -q 10.89.0 && ! ip -n $fw -6 route | grep -q fd00:89"
check "no IPAM row" test "$(sqlite3 "$work/sluice.db" 'select count(*) from container_addresses')" = 0
check "no endpoint record" test "$($ctl --json endpoints | field 'len(d["endpoints"])')" = 0
check "no endpoint map entry" test "$(map_entries endpoints)" = 0
check "no identity map entry" test "$(map_entries identities)" = 0
check "no pending DEL" bash -c "! ls $work/cni-pending/*.json 2>/dev/null"
check "no container has an eth0 left" bash -c "
	for n in \$(ip netns list | grep -o '^$p-[sk][0-9]*'); do ! ip -n \$n link show eth0 2>/dev/null || { echo \$n; exit 1; }; done"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
