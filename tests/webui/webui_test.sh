#!/usr/bin/env bash
# The web UI end to end: the lab, sluiced serving webui/, a user, then
# ui_test.mjs in headless Chromium inside the firewall's namespace (where
# the API listens). Screenshots go to SHOTS.
#
#   webui_test.sh SLUICED SLUICECTL SHOTS
set -uo pipefail
SLUICED=$1
SLUICECTL=$2
SHOTS=$3
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
} >"$work/sluice.toml"

log=$work/sluiced.log
sluiced_in "$fw" "$log" "$SLUICED" --config "$work/sluice.toml" --pin-dir "$pins" --database "$work/sluice.db" \
	--socket "$work/sluice.sock" --webui "$here/../../webui"
cleanup_add "kill $sluiced_pid"
wait_for "sluiced to start" 30 grep -q "running with" "$log" || cat "$log"
echo 'a long enough password' | "$SLUICECTL" --socket "$work/sluice.sock" user add operator

# Chromium wants a writable home; keep it inside the test's directory.
ip netns exec "$fw" env HOME="$work" node "$here/ui_test.mjs" http://127.0.0.1:9090 "$lan" operator \
	'a long enough password' "$SHOTS"
check "ui_test.mjs" test $? -eq 0
ls "$SHOTS"
kill -TERM "$sluiced_pid"
wait "$sluiced_pid"
finish
