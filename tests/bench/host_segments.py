#!/usr/bin/env python3
"""What sluice's tc egress program costs each TCP segment this host sends,
for two builds of sluiced in one run (rounds interleaved).

A segment a local TCP stack sends is a clone (the stack keeps the original
for retransmission) whose linear part holds the headers and whose payload
sits in pages; the same holds for a container's segments arriving at the
host end of its veth. Making such a packet's bytes linear (bpf_skb_pull_data)
unclones it: a new head and a copy. This bench sends small TCP writes
(TCP_NODELAY, one segment each) from a namespace where sluiced runs to a
sink behind a veth, and reads the program's own run time from the kernel
(kernel.bpf_stats_enabled, restored afterwards): nanoseconds per run, which
include the helpers it calls. Reported: the median over rounds for each
build and the ratio of --sluiced to --baseline.

  sudo tests/bench/host_segments.py --sluiced build/daemon/sluiced \\
      --baseline OLD/sluiced [--rounds 3] [--seconds 3] [--report docs/benchmarks.md]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forwarding  # noqa: E402  (start_sluiced, write_report_section)

P = f"hsb{os.getpid()}"
HOST, SINK = f"{P}-host", f"{P}-sink"

SENDER = """
import socket, sys, time
c = socket.create_connection(("10.77.0.2", 9000))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
chunk, until, n = b"x" * 200, time.time() + float(sys.argv[1]), 0
while time.time() < until:
    c.sendall(chunk)
    n += 1
print(n)
"""

SINK_SERVER = """
import socket
s = socket.create_server(("10.77.0.2", 9000))
while True:
    c, _ = s.accept()
    while c.recv(1 << 20):
        pass
    c.close()
"""


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, text=True, capture_output=True)


def topology():
    for n in (HOST, SINK):
        sh(f"ip netns add {n}")
        sh(f"ip -n {n} link set lo up")
    sh(f"ip link add out0 netns {HOST} type veth peer name in0 netns {SINK}")
    for n, dev, addr in ((HOST, "out0", "10.77.0.1/24"), (SINK, "in0", "10.77.0.2/24")):
        sh(f"ip -n {n} addr add {addr} dev {dev}")
        sh(f"ip -n {n} link set {dev} up")


def egress_program():
    """(run_time_ns, run_cnt) of the program on out0's tc egress."""
    filters = json.loads(sh(f"ip netns exec {HOST} tc -j filter show dev out0 egress").stdout)
    ids = [f["options"]["prog"]["id"] for f in filters if "prog" in f.get("options", {})]
    if len(ids) != 1:
        raise RuntimeError(f"expected one program on out0 egress, found {ids}")
    prog = json.loads(sh(f"bpftool prog show id {ids[0]} -j").stdout)
    return prog.get("run_time_ns", 0), prog.get("run_cnt", 0)


def measure(binary, work, seconds, tag):
    shutil.rmtree(f"/sys/fs/bpf/{P}", ignore_errors=True)
    for f in os.listdir(work):
        if f.startswith("sluice.db"):
            os.unlink(os.path.join(work, f))
    proc = forwarding.start_sluiced(binary, HOST, work, '[[interface]]\nname = "out0"\n',
                                    f"/sys/fs/bpf/{P}", tag)
    try:
        ns0, runs0 = egress_program()
        writes = int(sh(f"ip netns exec {HOST} python3 -c '{SENDER}' {seconds}").stdout)
        ns1, runs1 = egress_program()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    runs = runs1 - runs0
    if runs < writes // 2:
        raise RuntimeError(f"{binary}: {runs} program runs for {writes} writes")
    return (ns1 - ns0) / runs, runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--baseline", required=True, help="the sluiced to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--report")
    args = ap.parse_args()
    builds = [("baseline", args.baseline), ("this build", args.sluiced)]
    stats_before = sh("sysctl -n kernel.bpf_stats_enabled").stdout.strip()
    work = tempfile.mkdtemp()
    sink = None
    results = {name: [] for name, _ in builds}
    try:
        topology()
        sink = subprocess.Popen(["ip", "netns", "exec", SINK, "python3", "-c", SINK_SERVER])
        time.sleep(0.5)
        sh("sysctl -qw kernel.bpf_stats_enabled=1")
        starts = 0
        for rnd in range(args.rounds):
            for name, binary in builds:
                starts += 1
                ns, runs = measure(binary, work, args.seconds, starts)
                results[name].append(ns)
                print(f"round {rnd + 1}: {name}: {ns:.0f} ns per run over {runs:,} runs",
                      flush=True)
    finally:
        sh(f"sysctl -qw kernel.bpf_stats_enabled={stats_before or 0}", check=False)
        if sink:
            sink.kill()
            sink.wait()
        for n in (HOST, SINK):
            sh(f"ip netns del {n}", check=False)
        shutil.rmtree(f"/sys/fs/bpf/{P}", ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(results["baseline"])
    lines = [f"Generated by `tests/bench/host_segments.py --rounds {args.rounds} "
             f"--seconds {args.seconds:g}` on {time.strftime('%Y-%m-%d')}: {args.rounds} rounds "
             f"of {args.seconds:g} s per build, interleaved; 200-byte TCP writes with "
             "TCP_NODELAY from the namespace sluiced runs in.", "",
             "| build | tc egress ns per segment | ratio to baseline |", "|---|---:|---:|"]
    for name, _ in builds:
        med = statistics.median(results[name])
        lines.append(f"| {name} | {med:,.0f} | {med / base:.2f}x |")
    table = "\n".join(lines)
    print(table)
    if args.report:
        forwarding.write_report_section(args.report, "host-segments", "Segments this host sends",
                                        table)


if __name__ == "__main__":
    main()
