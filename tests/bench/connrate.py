#!/usr/bin/env python3
"""Connection-rate benchmark: short TCP connections through a router.

Many clients (250 addresses in a client namespace) open connections to an
nginx in a server namespace, through a router namespace; each connection
sends one HTTP request, reads the answer and closes (tests/bench/
connrate.cpp keeps 64 of them in flight). Every connection is a new flow
at the router: policy, conntrack and (but for (a), (x), (c0) and (d0)) a
masquerade port, then a handful of packets of an established flow.
Variants, interleaved round by round:

  (a) kernel  plain kernel forwarding, no firewall
  (x) xdp  XDP forwarding alone on both router interfaces
      (bench_forward.bpf.c: no policy, conntrack or NAT): the ceiling of
      any XDP datapath here. On veth it is below (a): for XDP the frame
      is copied out of the sender's skb (skb_pp_cow_data), and the far
      side builds a new skb for the frame it is redirected.
  (c) nftables  the rules as sets, conntrack and masquerade
      (tests/bench/forwarding.py's nft_rules)
  (c0) nftables-nonat  as (c) without masquerade: what NAT costs nftables
  (d) sluice  sluiced with the same rules, conntrack and masquerade
  (d0) sluice-nonat  as (d) without masquerade: what NAT costs sluice
  (e) sluice-denied  as (d), flow records for denied traffic only (as
      nftables, which records nothing here)
  (d') sluice-baseline  as (d) with another sluiced (--baseline-sluiced,
      e.g. the previous version's), its pins and history apart: what a
      change to the daemon did, in the same run
at each rule count of --counts (the rules of forwarding.py: none matches
the clients, which a last rule accepts). Reports medians of connections
per second, their ratio to (a), and the median of the rounds' p99 connect
time (connect() to writable: the SYN's way through the router and back).

  sudo tests/bench/connrate.py --client build/tests/bench/connrate \\
      --sluiced build/daemon/sluiced [--bpf-dir build/tests/bench] \\
      [--rounds 5] [--seconds 3] [--counts 0,100000] [--report docs/benchmarks.md] \\
      [--baseline-sluiced OLD/sluiced --variants kernel,nftables,sluice,sluice-baseline]
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forwarding  # noqa: E402  (the rulesets, in the other benchmark's words)

P = f"crb{os.getpid()}"
CLI, RTR, SRV = f"{P}-cli", f"{P}-rtr", f"{P}-srv"
CLIENTS = [f"10.10.{i // 250}.{i % 250 + 1}" for i in range(250)]
SERVER = "192.0.2.3"


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, text=True, capture_output=True)


def topology():
    for n in (CLI, RTR, SRV):
        sh(f"ip netns add {n}")
        sh(f"ip -n {n} link set lo up")
    sh(f"ip link add {P}a type veth peer name {P}b")
    sh(f"ip link set {P}a netns {CLI} && ip -n {CLI} link set {P}a name eth0")
    sh(f"ip link set {P}b netns {RTR} && ip -n {RTR} link set {P}b name lan0")
    sh(f"ip link add {P}c type veth peer name {P}d")
    sh(f"ip link set {P}c netns {RTR} && ip -n {RTR} link set {P}c name wan0")
    sh(f"ip link set {P}d netns {SRV} && ip -n {SRV} link set {P}d name eth0")
    for n, itf in ((CLI, "eth0"), (RTR, "lan0"), (RTR, "wan0"), (SRV, "eth0")):
        sh(f"ip -n {n} link set {itf} up")
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as f:
        for a in CLIENTS:
            f.write(f"addr add {a}/16 dev eth0\n")
        batch = f.name
    sh(f"ip -n {CLI} -batch {batch}")
    os.unlink(batch)
    sh(f"ip -n {CLI} route add default via 10.10.255.254")
    sh(f"ip -n {RTR} addr add 10.10.255.254/16 dev lan0")
    sh(f"ip -n {RTR} addr add 192.0.2.1/24 dev wan0")
    sh(f"ip -n {SRV} addr add {SERVER}/24 dev eth0")
    # Plain forwarding (a) does not masquerade: the server routes back.
    sh(f"ip -n {SRV} route add 10.10.0.0/16 via 192.0.2.1")
    # As hosts on a wire: complete checksums (over veth a local stack
    # leaves them to "hardware", CHECKSUM_PARTIAL, which a frame XDP
    # redirects never meets) and NAPI on, which a veth needs to receive
    # redirected frames (docs/datapath.md, veth). The same for every variant.
    for n in (CLI, SRV):
        sh(f"ip netns exec {n} ethtool -K eth0 tx off gro on")
    sh(f"ip netns exec {RTR} sysctl -qw net.ipv4.ip_forward=1")
    sh(f"ip netns exec {SRV} sysctl -qw net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192")
    sh(f"ip netns exec {CLI} sysctl -qw net.ipv4.ip_local_port_range='1024 65000'")


def nginx(work):
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1; pid {work}/nginx.pid; error_log /dev/null;
events {{ worker_connections 8192; }}
http {{ access_log off;
  server {{ listen {SERVER}:80 backlog=8192; location / {{ return 200 "ok\\n"; }} }} }}
""")
    return subprocess.Popen(["ip", "netns", "exec", SRV, "nginx", "-c", conf, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Variant:
    starts = 0

    def __init__(self, name, label, rule_count):
        self.name, self.label, self.rule_count = name, label, rule_count
        self.proc = None

    def up(self, work, args):
        rules = forwarding.ruleset(self.rule_count)
        nat = not self.name.endswith("-nonat")
        if self.name.startswith("nftables"):
            path = os.path.join(work, "nft.rules")
            with open(path, "w") as f:
                f.write(forwarding.nft_rules(rules, masquerade=nat))
            sh(f"ip netns exec {RTR} nft -f {path}")
        elif self.name == "xdp":
            prog = os.path.join(args.bpf_dir, "bench_forward.bpf.o")
            for itf in ("lan0", "wan0"):
                sh(f"ip -n {RTR} link set {itf} xdpdrv obj {prog} sec xdp")
        elif self.name.startswith("sluice"):
            Variant.starts += 1
            # The baseline build keeps its pins and history apart: a newer
            # build may have migrated the history to a schema it refuses.
            baseline = self.name == "sluice-baseline"
            self.proc = forwarding.start_sluiced(
                args.baseline_sluiced if baseline else args.sluiced, RTR, work,
                forwarding.sluice_config(rules, "denied" if self.name == "sluice-denied" else "all",
                                         masquerade=nat),
                f"/sys/fs/bpf/{P}-base" if baseline else f"/sys/fs/bpf/{P}", Variant.starts,
                database="baseline.db" if baseline else "sluice.db")

    def down(self):
        if self.name.startswith("nftables"):
            sh(f"ip netns exec {RTR} nft delete table ip bench", check=False)
        elif self.name == "xdp":
            for itf in ("lan0", "wan0"):
                sh(f"ip -n {RTR} link set {itf} xdpdrv off", check=False)
        elif self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None
        sh(f"ip netns exec {RTR} conntrack -F", check=False)


def measure(args, seconds):
    out = sh(f"ip netns exec {CLI} {args.client} {SERVER} 80 {seconds} {args.concurrency} "
             + " ".join(CLIENTS)).stdout.split()
    fields = dict(zip(out[::2], out[1::2]))
    return {"rate": int(fields["completed"]) / seconds, "failed": int(fields["failed"]),
            "p99_us": int(fields["connect_p99_us"]), "p50_us": int(fields["connect_p50_us"])}


def report(args, variants, results):
    base = statistics.median(r["rate"] for r in results[variants[0].label])
    lines = [f"Generated by `{' '.join(['tests/bench/connrate.py'] + sys.argv[1:])}` on "
             f"{time.strftime('%Y-%m-%d')}: {args.rounds} rounds of {args.seconds:g} s per variant, "
             f"interleaved; {args.concurrency} connections in flight from {len(CLIENTS)} client "
             "addresses, each one HTTP request and its answer.", "",
             "| variant | connections/s | ratio to (a) | p50 connect (us) | p99 connect (us) | failed |",
             "|---|---:|---:|---:|---:|---:|"]
    for v in variants:
        rs = results[v.label]
        rate = statistics.median(r["rate"] for r in rs)
        lines.append(f"| {v.label} | {rate:,.0f} | {rate / base:.2f}x | "
                     f"{statistics.median(r['p50_us'] for r in rs):,.0f} | "
                     f"{statistics.median(r['p99_us'] for r in rs):,.0f} | "
                     f"{sum(r['failed'] for r in rs)} |")
    return "\n".join(lines)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True, help="the connrate binary")
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--bpf-dir", help="where bench_forward.bpf.o is (default: the directory of "
                    "--client)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--counts", default="0,100000")
    ap.add_argument("--variants",
                    default="kernel,xdp,nftables,nftables-nonat,sluice,sluice-nonat,sluice-denied",
                    help="which variants to run (kernel always runs: it is the baseline)")
    ap.add_argument("--baseline-sluiced", help="another sluiced to run as (d'), e.g. the "
                    "previous version's (with sluice-baseline in --variants)")
    ap.add_argument("--report")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    args.bpf_dir = args.bpf_dir or os.path.dirname(os.path.abspath(args.client))
    variants = [Variant("kernel", "(a) kernel forwarding, no firewall", 0),
                Variant("xdp", "(x) XDP forwarding alone, no firewall, no NAT: the ceiling", 0)]
    variants += [Variant("nftables", f"(c) nftables sets, conntrack, masquerade: {c:,} rules", c)
                 for c in counts]
    variants += [Variant("nftables-nonat",
                         f"(c0) nftables as (c), no masquerade: {c:,} rules", c) for c in counts]
    variants += [Variant("sluice", f"(d) sluice, conntrack, masquerade: {c:,} rules", c)
                 for c in counts]
    variants += [Variant("sluice-nonat", f"(d0) sluice as (d), no masquerade: {c:,} rules", c)
                 for c in counts]
    variants += [Variant("sluice-denied",
                         f"(e) sluice as (d), flow records for denied traffic only: {c:,} rules", c)
                 for c in counts]
    variants += [Variant("sluice-baseline",
                         f"(d') as (d), the baseline sluiced: {c:,} rules", c) for c in counts]
    wanted = set(args.variants.split(",")) | {"kernel"}
    if "sluice-baseline" in wanted and not args.baseline_sluiced:
        ap.error("sluice-baseline needs --baseline-sluiced")
    variants = [v for v in variants if v.name in wanted]

    work = tempfile.mkdtemp()
    results = {v.label: [] for v in variants}
    server = None
    try:
        topology()
        server = nginx(work)
        time.sleep(0.5)
        for rnd in range(args.rounds):
            for v in variants:
                v.up(work, args)
                try:
                    measure(args, 0.5)  # warm-up
                    got = measure(args, args.seconds)
                finally:
                    v.down()
                results[v.label].append(got)
                print(f"round {rnd + 1}: {v.label}: {got['rate']:,.0f} connections/s, "
                      f"connect p50 {got['p50_us']} us p99 {got['p99_us']} us, "
                      f"{got['failed']} failed", flush=True)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)
        for n in (CLI, RTR, SRV):
            sh(f"ip netns del {n}", check=False)
        for pins in (f"/sys/fs/bpf/{P}", f"/sys/fs/bpf/{P}-base"):
            shutil.rmtree(pins, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    table = report(args, variants, results)
    print(table)
    if args.report:
        forwarding.write_report_section(args.report, "connrate", "Connection rate", table)


if __name__ == "__main__":
    main()
