#!/usr/bin/env bash
# sluice-cni against the spec with a running sluiced (tests/unit/
# cni_plugin_test.cpp covers what needs no sluiced): the result of an ADD
# in each supported version compared, field by field where the spec fixes
# the form, with the stock bridge + host-local plugins' result for the
# same request; an exhausted address pool: the spec's error object with
# sluice's code 101, and nothing left behind by the refused ADD; GC with
# disableGC and with a list of valid attachments; sluicectl cni install.
#
#   cni_spec_test.sh SLUICED SLUICECTL SLUICE_CNI
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local ]] ||
	{ echo "the stock plugins are missing: run scripts/setup"; exit 1; }

p=csp$SLUICE_TEST_ID
fw=$p-fw
test_workdir
ns_new "$fw"
for c in a b c s; do ns_new "$p-$c"; done

cat >"$work/sluice.toml" <<'TOML'
[containers]
ipv4 = "10.89.0.0/30"
ipv6 = "fd00:89::/64"
TOML
start_sluiced "$fw"

# plugin COMMAND VERSION ID NETNS CONF_JSON_TAIL PLUGIN: stdout; status in $work/status.
plugin() {
	local out
	out=$(printf '{"cniVersion": "%s", "name": "box"%s}' "$2" "$5" |
		CNI_COMMAND=$1 CNI_CONTAINERID=$3 CNI_NETNS=$4 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
			nsenter --net="/run/netns/$fw" "$6")
	echo $? >"$work/status"
	echo "$out"
}
sluice_conf=", \"type\": \"sluice-cni\", \"socket\": \"$sock\""
stock_conf=", \"type\": \"bridge\", \"bridge\": \"cnibr$SLUICE_TEST_ID\", \"isGateway\": true,
  \"ipam\": {\"type\": \"host-local\", \"dataDir\": \"$work/host-local\",
  \"ranges\": [[{\"subnet\": \"10.77.0.0/24\"}], [{\"subnet\": \"fd00:77::/64\"}]],
  \"routes\": [{\"dst\": \"0.0.0.0/0\"}, {\"dst\": \"::/0\"}]}"
cleanup_add "ip -n $fw link del cnibr$SLUICE_TEST_ID"

echo "--- results in the form of each version, beside the stock plugins'"
for version in 0.4.0 1.0.0 1.1.0; do
	plugin ADD "$version" "s-$version" "/run/netns/$p-a" "$sluice_conf" "$CNI" >"$work/ours.json"
	check "$version: sluice-cni ADD succeeds" test "$(cat "$work/status")" = 0
	# Debian 12's stock plugins (1.1.1) stop at 1.0.0, whose result form
	# 1.1.0 keeps.
	stock_version=$version
	[[ $version == 1.1.0 ]] && stock_version=1.0.0
	plugin ADD "$stock_version" "b-$version" "/run/netns/$p-s" "$stock_conf" /usr/lib/cni/bridge >"$work/stock.json"
	check "$stock_version: bridge + host-local ADD succeeds" test "$(cat "$work/status")" = 0
	check "$version: the results have the same form" \
		"$here/cni_result_form.py" "$version" "$work/ours.json" "$stock_version" "$work/stock.json"
	plugin DEL "$version" "s-$version" "/run/netns/$p-a" "$sluice_conf" "$CNI" >/dev/null
	check "$version: sluice-cni DEL succeeds" test "$(cat "$work/status")" = 0
	plugin DEL "$stock_version" "b-$version" "/run/netns/$p-s" "$stock_conf" /usr/lib/cni/bridge >/dev/null
done
echo "     ours:  $(cat "$work/ours.json")"
echo "     stock: $(cat "$work/stock.json")"

echo "--- an exhausted pool"
plugin ADD 1.1.0 fill-a "/run/netns/$p-a" "$sluice_conf" "$CNI" >/dev/null
check "the /30 pool's first address goes to fill-a" test "$(cat "$work/status")" = 0
plugin ADD 1.1.0 fill-b "/run/netns/$p-b" "$sluice_conf" "$CNI" >/dev/null
check "its second (and last) to fill-b" test "$(cat "$work/status")" = 0
out=$(plugin ADD 1.1.0 fill-c "/run/netns/$p-c" "$sluice_conf" "$CNI")
echo "     $out"
check "a third ADD fails" test "$(cat "$work/status")" != 0
check "with the spec's error object: code 101 and what to fix" python3 -c "
import json, sys
e = json.loads(sys.argv[1])
assert e['cniVersion'] == '1.1.0' and e['code'] == 101, e
assert 'no free address left in 10.89.0.0/30' in e['msg'] + e.get('details', ''), e" "$out"
check "fill-c got no interface" bash -c "! ip -n $p-c link show eth0"
check "no host end of fill-c, two in all" test "$(ip -n "$fw" -o link | grep -c ' sl[0-9a-f]\{12\}')" = 2
check "no address held for fill-c (its IPv6 one released)" \
	test "$(sqlite3 "$work/sluice.db" "select count(*) from container_addresses where container_id = 'fill-c'")" = 0
plugin DEL 1.1.0 fill-a "/run/netns/$p-a" "$sluice_conf" "$CNI" >/dev/null
plugin ADD 1.1.0 fill-c "/run/netns/$p-c" "$sluice_conf" "$CNI" >/dev/null
check "once fill-a is gone, fill-c gets its address" test "$(cat "$work/status")" = 0
echo "--- GC"
gc() {
	printf '{"cniVersion": "1.1.0", "name": "box", "type": "sluice-cni", "socket": "%s"%s}' "$sock" "$1" |
		CNI_COMMAND=GC CNI_PATH=/usr/lib/cni nsenter --net="/run/netns/$fw" "$CNI"
}
held() { sqlite3 "$work/sluice.db" "select count(*) from container_addresses where container_id like 'fill-%'"; }
before=$(held)
check "GC with disableGC succeeds" gc ', "disableGC": true, "cni.dev/valid-attachments": []'
check "and releases nothing" test "$(held)" = "$before"
check "GC keeping fill-c" gc ', "cni.dev/valid-attachments": [{"containerID": "fill-c", "ifname": "eth0"}]'
check "releases fill-b and keeps fill-c" test "$(sqlite3 "$work/sluice.db" "select group_concat(distinct container_id) from container_addresses where container_id like 'fill-%'")" = fill-c
check "fill-b's link is gone, fill-c's stays" bash -c "! ip -n $p-b link show eth0 && ip -n $p-c link show eth0"
out=$(gc ', "cni.dev/valid-attachments": [{"containerID": 7}]')
check "a malformed valid-attachments list is refused with code 7" grep -q '"code":7' <<<"$out"

echo "--- sluicectl cni install"
out=$($ctl cni install --conf-dir "$work/net.d" --bin-dir "$work/bin" --network box2)
echo "$out"
check "it writes the plugin and the conflist" \
	bash -c "test -x $work/bin/sluice-cni && test -f $work/net.d/10-box2.conflist"
check "the conflist names this sluiced's socket and pending directory" python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))
p = c['plugins'][0]
assert c['name'] == 'box2' and p['type'] == 'sluice-cni', c
assert p['socket'] == sys.argv[2] and p['pending_dir'] == sys.argv[3], c
assert p['capabilities'] == {'portMappings': True}, c" "$work/net.d/10-box2.conflist" "$sock" "$work/cni-pending"
check "the installed plugin is sluice-cni" bash -c "echo '{\"cniVersion\": \"1.1.0\"}' | CNI_COMMAND=VERSION $work/bin/sluice-cni | grep -q supportedVersions"
conf=$(python3 -c "import json,sys; c=json.load(open(sys.argv[1])); p=c['plugins'][0]; p.update(cniVersion=c['cniVersion'], name=c['name']); print(json.dumps(p))" "$work/net.d/10-box2.conflist")
check "a runtime using them wires a container" bash -c "echo '$conf' |
	CNI_COMMAND=ADD CNI_CONTAINERID=inst1 CNI_NETNS=/run/netns/$p-s CNI_IFNAME=eth1 CNI_PATH=$work/bin nsenter --net=/run/netns/$fw $work/bin/sluice-cni | grep -q 10.89.0"
check "installing again writes nothing" bash -c "$ctl cni install --conf-dir $work/net.d --bin-dir $work/bin --network box2 | grep -q 'nothing written'"
echo '{"cniVersion": "1.0.0", "name": "taken", "plugins": []}' >"$work/net.d/50-other.conflist"
out=$($ctl cni install --conf-dir "$work/net.d" --bin-dir "$work/bin" --network taken 2>&1)
check "a network name another file defines is refused, naming the file" \
	grep -q "network 'taken' is already defined in $work/net.d/50-other.conflist" <<<"$out"
check "and nothing was written" test ! -e "$work/net.d/10-taken.conflist"
out=$($ctl cni install --conf-dir "$work/net.d" --bin-dir "$work/bin" --network 'bad name' 2>&1)
check "a name that is no CNI network name is refused" grep -q "is not a CNI network name" <<<"$out"
check "sluicectl cni install with an unknown flag says so" \
	bash -c "$ctl cni install --conf $work 2>&1 | grep -q \"unexpected argument '--conf'\""

kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
