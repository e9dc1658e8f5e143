#!/usr/bin/env bash
# Runs one libFuzzer harness for a bounded time: first every committed
# seed (the regression inputs), then new inputs grown from them in a
# scratch corpus (the committed one is never written). A crash prints the
# input that caused it (base64) so it can be added to the seeds once fixed.
#
#   run_fuzzer.sh FUZZER SEED_DIR SECONDS
set -uo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
	-artifact_prefix="$work/" "$work/corpus" "$seeds" 2>"$work/log"
rc=$?
grep -E "^(#[0-9]+ +(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb)" "$work/log"
if [[ $rc -ne 0 ]]; then
	tail -40 "$work/log"
	for a in "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-*; do
		[[ -e $a ]] || continue
		echo "input that failed ($(basename "$a")), base64:"
		base64 -w0 "$a"
		echo
	done
	exit 1
fi
echo "$(basename "$fuzzer"): no crash in $seconds s"
