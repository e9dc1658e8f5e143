#!/usr/bin/env bash
# The web UI end to end: the lab, sluiced serving webui/, a user, then
# ui_test.mjs in headless Chromium inside the firewall's namespace (where
# the API listens). Three "containers" (namespaces wired by sluice-cni)
# give the Endpoints page and the map something to show. Screenshots go
# to SHOTS.
#
#   webui_test.sh SLUICED SLUICECTL SLUICE_CNI SHOTS
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
CNI=$3
SHOTS=$4
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"

if [[ ! -x /usr/bin/chromium || ! -d $here/node_modules/playwright-core ]]; then
	echo "chromium or playwright-core missing: run scripts/setup"
	exit 1
fi

test_lab ui
web_servers 80 8081
{
	lab_interfaces
	decisions_rules
	cat <<'TOML'

[containers]
ipv4 = "10.89.0.0/24"

[[endpoint]]
match = { container = "web-*" }
labels = { app = "web" }

[[endpoint]]
match = { container = "shop-*" }
labels = { app = "shop" }

[[rule]]
name = "shop-to-web"
chain = "forward"
from = { labels = { app = "shop" } }
to = { labels = { app = "web" } }
proto = "tcp"
port = 8080
action = "accept"

[[rule]]
name = "shop-api"
chain = "forward"
from = { labels = { app = "shop" } }
to = { labels = { app = "web" } }
proto = "tcp"
port = 8081
action = "accept"
http = [{ method = "GET", path = "/api/v1/.*" }]

[[rule]]
name = "nothing-else-to-web"
chain = "forward"
to = { labels = { app = "web" } }
action = "drop"

[[rule]]
name = "containers-out"
chain = "forward"
from = "10.89.0.0/24"
to = "10.10.2.0/24"
proto = "tcp"
port = 80
action = "accept"
TOML
} >"$work/sluice.toml"

log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" \
	--socket "$work/sluice.sock" --webui "$here/../../webui"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 30 grep -q "running with" "$log" || cat "$log"
echo 'a long enough password' | "$SLUICECTL" --socket "$work/sluice.sock" user add operator

# The containers: web-1 (a server on 8080), shop-1 and rogue-1.
for name in web-1 shop-1 rogue-1; do
	ns_new "ui-$name-$SLUICE_TEST_ID"
	printf '{"cniVersion": "1.1.0", "name": "lab", "type": "sluice-cni", "socket": "%s"}' "$work/sluice.sock" |
		CNI_COMMAND=ADD CNI_CONTAINERID="$name-id" CNI_NETNS="/run/netns/ui-$name-$SLUICE_TEST_ID" CNI_IFNAME=eth0 \
			CNI_ARGS="K8S_POD_NAME=$name" CNI_PATH=/usr/lib/cni "$CNI" >/dev/null ||
		{ echo "wiring $name failed"; exit 1; }
done
ip netns exec "ui-web-1-$SLUICE_TEST_ID" "$here/../integration/peers.py" serve any 8080 "$work/web-peers" &
cleanup_add "kill $!"
# An HTTP server behind the L7 rule shop-api.
touch "$work/web-http.log"
ip netns exec "ui-web-1-$SLUICE_TEST_ID" python3 "$here/../integration/l7_server.py" 10.89.0.1 8081 \
	"$work/web-http.log" 2>/dev/null &
cleanup_add "kill $!"
export SHOP_NS=ui-shop-1-$SLUICE_TEST_ID ROGUE_NS=ui-rogue-1-$SLUICE_TEST_ID WEB_ADDR=10.89.0.1

# Chromium aborts page loads in flight (net::ERR_NETWORK_CHANGED) when an
# address in its namespace changes: let the containers' new veths finish
# IPv6 duplicate address detection first (about a second after wiring).
wait_for "the firewall's addresses to settle" 10 bash -c "[[ -z \$(ip -n $fw -6 addr show tentative) ]]"

# Chromium wants a writable home; keep it inside the test's directory.
ip netns exec "$fw" env HOME="$work" node "$here/ui_test.mjs" http://127.0.0.1:9090 "$lan" operator \
	'a long enough password' "$SHOTS"
check "ui_test.mjs" test $? -eq 0
ls "$SHOTS"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
