# Network namespaces for the lab (scripts/demo) and the integration tests.
# Everything made here is registered with cleanup_add and undone on exit,
# whether the caller succeeds or fails. Addresses live only inside the
# namespaces; none of them has a route out.

cleanup_cmds=()

cleanup_add() { cleanup_cmds+=("$*"); }

run_cleanup() {
	local i
	for ((i = ${#cleanup_cmds[@]} - 1; i >= 0; i--)); do
		eval "${cleanup_cmds[$i]}" >/dev/null 2>&1 || true
	done
	cleanup_cmds=()
}
trap run_cleanup EXIT
# A signal ends the script (and so runs the cleanup) even while it waits
# on a background job.
trap 'exit 130' INT
trap 'exit 143' TERM

ns_new() { # NAME
	ip netns add "$1"
	cleanup_add "ip netns del $1"
	ip -n "$1" link set lo up
}

# A veth pair between two namespaces: veth NS_A IF_A NS_B IF_B
veth() {
	local tmp_a="sl$$a" tmp_b="sl$$b"
	ip link add "$tmp_a" type veth peer name "$tmp_b"
	ip link set "$tmp_a" netns "$1"
	ip link set "$tmp_b" netns "$3"
	ip -n "$1" link set "$tmp_a" name "$2"
	ip -n "$3" link set "$tmp_b" name "$4"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
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

# The lab: LAN client -- firewall -- WAN server.
#   lab_up PREFIX LAN_IF WAN_IF: namespaces PREFIX-lan, PREFIX-fw, PREFIX-wan;
#   the firewall's interfaces are LAN_IF (10.10.1.1/24, fd00:10:1::1/64)
#   and WAN_IF (10.10.2.1/24, fd00:10:2::1/64); the client is 10.10.1.10,
#   the server 10.10.2.2, each routed through the firewall. Forwarding is
#   on in the firewall namespace only.
lab_up() {
	local p=$1 lan_if=$2 wan_if=$3
	ns_new "$p-lan"
	ns_new "$p-fw"
	ns_new "$p-wan"
	veth "$p-lan" eth0 "$p-fw" "$lan_if"
	veth "$p-wan" eth0 "$p-fw" "$wan_if"
	ip -n "$p-lan" addr add 10.10.1.10/24 dev eth0
	ip -n "$p-lan" addr add fd00:10:1::10/64 dev eth0 nodad
	ip -n "$p-fw" addr add 10.10.1.1/24 dev "$lan_if"
	ip -n "$p-fw" addr add fd00:10:1::1/64 dev "$lan_if" nodad
	ip -n "$p-fw" addr add 10.10.2.1/24 dev "$wan_if"
	ip -n "$p-fw" addr add fd00:10:2::1/64 dev "$wan_if" nodad
	ip -n "$p-wan" addr add 10.10.2.2/24 dev eth0
	ip -n "$p-wan" addr add fd00:10:2::2/64 dev eth0 nodad
	ip -n "$p-lan" route add default via 10.10.1.1
	ip -n "$p-lan" -6 route add default via fd00:10:1::1
	ip -n "$p-wan" route add default via 10.10.2.1
	ip -n "$p-wan" -6 route add default via fd00:10:2::1
	ip netns exec "$p-fw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# Runs sluiced in namespace NS, sharing this mount namespace so that its
# pins land on the real bpffs (`ip netns exec` would remount /sys and hide
# them): sluiced_in NS LOG ARGS... ; sets sluiced_pid.
sluiced_in() {
	local ns=$1 log=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" 2>>"$log" &
	sluiced_pid=$!
}
