#!/usr/bin/env python3
"""Forwarding benchmark: small-packet rate through a router namespace.

A generator namespace floods UDP/IPv4 frames with a new 5-tuple in every
packet (tests/bench/flood.cpp) through the router namespace to a sink
namespace that counts what arrives (its interface's rx counter) and drops
it at once in XDP (bench_sink.bpf.c), so that the sink costs every variant
little, and alike. Variants, interleaved round by round so that drift on
the machine hits them all alike:

  (a) kernel  plain kernel forwarding, no firewall
  (x) xdp  XDP forwarding alone (bench_forward.bpf.c: route lookup, TTL,
      redirect; no policy, conntrack or NAT): the ceiling of any XDP
      datapath on this path
  (y) xdp-tracked  (x) plus the least a connection tracker does
      (bench_tracked.bpf.c: find or insert the flow's entry in an LRU hash
      table, note the time): the ceiling of an XDP datapath that keeps its
      flows in the kernel's LRU hash maps, as sluice does
  (z) xdp-set-table  as (y), with a table of its own (bench_set_table.bpf.c:
      an array of four-way buckets, eviction inside the bucket)
  (b) iptables  kernel forwarding, conntrack, MASQUERADE, a 10,000-rule
      FORWARD chain
  (c) nftables  the same rules as sets (interval sets, concatenations),
      conntrack and masquerade: its best form
  (d) sluice  sluiced with the same rules, conntrack and masquerade

Rules mix /32, /24 and /16 sources, single ports, port ranges and any-port
rules; none matches the generated traffic, which a last rule accepts, so
every packet goes past all of them. Reports medians of packets per second
and ratios to (a). By default every packet is a new flow (the new-flow
path: policy, a conntrack entry and a masquerade port per packet); with
--flows N the generator cycles through N flows, which measures established
traffic instead.

  sudo tests/bench/forwarding.py --flood build/tests/bench/flood \\
      --sluiced build/daemon/sluiced [--bpf-dir build/tests/bench] \\
      [--rounds 5] [--seconds 3] \\
      [--counts 0,1000,10000,100000] [--flows N] [--report docs/benchmarks.md]
"""
import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

P = f"fwb{os.getpid()}"
GEN, RTR, SINK = f"{P}-gen", f"{P}-rtr", f"{P}-sink"
NAMESPACES = [GEN, RTR, SINK]


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, shell=True, check=check, text=True, capture_output=True, **kw)


def ns(name, cmd, check=True):
    return sh(f"ip netns exec {name} {cmd}", check=check)


def topology(bpf_dir):
    for n in NAMESPACES:
        sh(f"ip netns add {n}")
        ns(n, "ip link set lo up")
    sh(f"ip link add {P}a type veth peer name {P}b")
    sh(f"ip link set {P}a netns {GEN} && ip -n {GEN} link set {P}a name eth0")
    sh(f"ip link set {P}b netns {RTR} && ip -n {RTR} link set {P}b name lan0")
    sh(f"ip link add {P}c type veth peer name {P}d")
    sh(f"ip link set {P}c netns {RTR} && ip -n {RTR} link set {P}c name wan0")
    sh(f"ip link set {P}d netns {SINK} && ip -n {SINK} link set {P}d name eth0")
    for n, itf in ((GEN, "eth0"), (RTR, "lan0"), (RTR, "wan0"), (SINK, "eth0")):
        sh(f"ip -n {n} link set {itf} up")
    sh(f"ip -n {GEN} addr add 10.10.0.1/16 dev eth0")
    sh(f"ip -n {RTR} addr add 10.10.255.254/16 dev lan0")
    sh(f"ip -n {RTR} addr add 192.0.2.1/24 dev wan0")
    sh(f"ip -n {SINK} addr add 192.0.2.3/24 dev eth0")
    # Frames are counted on arrival (rx_packets) and dropped by XDP.
    sh(f"ip -n {SINK} link set eth0 xdpdrv obj {os.path.join(bpf_dir, 'bench_sink.bpf.o')} sec xdp")
    sink_mac = ns(SINK, "cat /sys/class/net/eth0/address").stdout.strip()
    sh(f"ip -n {RTR} neigh replace 192.0.2.2 lladdr {sink_mac} dev wan0 nud permanent")
    # Destinations: a /16 of the benchmarking range, behind the sink.
    sh(f"ip -n {RTR} route add 198.18.0.0/16 via 192.0.2.2")
    ns(RTR, "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.lan0.rp_filter=0")


def teardown():
    for n in NAMESPACES:
        sh(f"ip netns del {n}", check=False)


# --- rules -----------------------------------------------------------------

def ruleset(count, seed=7):
    """count drop rules (src prefix, proto, port range or None), each on
    its own address block, none in 10.10.0.0/16."""
    rng = random.Random(seed)
    rules = []
    n16 = n24 = n32 = 0
    for i in range(count):
        r = rng.random()
        if r < 0.02 and n16 < 512:
            src = f"{11 + n16 // 256}.{n16 % 256}.0.0/16"
            n16 += 1
        elif r < 0.40:
            src = f"{20 + n24 // 65536}.{(n24 // 256) % 256}.{n24 % 256}.0/24"
            n24 += 1
        else:
            src = f"172.{16 + n32 // 65536}.{(n32 // 256) % 256}.{n32 % 256}/32"
            n32 += 1
        proto = rng.choice(["tcp", "udp"])
        shape = rng.random()
        if shape < 1 / 3:
            ports = None
        elif shape < 2 / 3:
            p = rng.randint(1, 65535)
            ports = (p, p)
        else:
            p = rng.randint(1, 60000)
            ports = (p, p + rng.randint(1, 5000))
        rules.append((src, proto, ports))
    return rules


def sluice_config(rules, flow_events="all", masquerade=True):
    out = ['[[interface]]\nname = "lan0"\n\n[[interface]]\nname = "wan0"\n\n',
           '[chains]\ninput = "accept"\nforward = "drop"\noutput = "accept"\n\n',
           # The sink's veth end runs XDP (topology()), so XDP may send to wan0.
           '[router]\nfast_path = "on"\n\n',
           # "all": a flow record for every new flow (the default); "denied":
           # only for what is dropped, as iptables and nftables log nothing here.
           f'[flows]\nevents = "{flow_events}"\n\n']
    for i, (src, proto, ports) in enumerate(rules):
        out.append(f'[[rule]]\nname = "r{i}"\nchain = "forward"\nfrom = "{src}"\nproto = "{proto}"\n')
        if ports:
            out.append(f'port = {ports[0]}\n' if ports[0] == ports[1] else f'port = "{ports[0]}-{ports[1]}"\n')
        out.append('action = "drop"\n\n')
    out.append('[[rule]]\nname = "lan"\nchain = "forward"\nfrom = "10.10.0.0/16"\naction = "accept"\n\n')
    if masquerade:
        out.append('[[nat]]\nmasquerade = { out_interface = "wan0", from = "10.10.0.0/16" }\n')
    return "".join(out)


def iptables_rules(rules):
    out = ["*nat", ":POSTROUTING ACCEPT [0:0]", "-A POSTROUTING -o wan0 -j MASQUERADE", "COMMIT",
           "*filter", ":FORWARD DROP [0:0]"]
    for src, proto, ports in rules:
        port = "" if not ports else f" --dport {ports[0]}" if ports[0] == ports[1] else f" --dport {ports[0]}:{ports[1]}"
        out.append(f"-A FORWARD -s {src} -p {proto}{port} -j DROP")
    out += ["-A FORWARD -s 10.10.0.0/16 -j ACCEPT", "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "COMMIT", ""]
    return "\n".join(out)


def nft_rules(rules, masquerade=True):
    any_port = [src for src, _, ports in rules if not ports]
    by_proto = {"tcp": [], "udp": []}
    for src, proto, ports in rules:
        if ports:
            p = str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
            by_proto[proto].append(f"{src} . {p}")
    out = ["table ip bench {"]
    out.append("  set any_port { type ipv4_addr; flags interval; auto-merge;"
               + (f" elements = {{ {', '.join(any_port)} }};" if any_port else "") + " }")
    for proto, elems in by_proto.items():
        out.append(f"  set {proto}_ports {{ type ipv4_addr . inet_service; flags interval;"
                   + (f" elements = {{ {', '.join(elems)} }};" if elems else "") + " }")
    out.append("  chain forward { type filter hook forward priority 0; policy drop;")
    out.append("    ct state established,related accept")
    out.append("    ip saddr @any_port drop")
    out.append("    ip saddr . tcp dport @tcp_ports drop")
    out.append("    ip saddr . udp dport @udp_ports drop")
    out.append("    ip saddr 10.10.0.0/16 accept")
    out.append("  }")
    if masquerade:
        out.append("  chain post {")
        out.append("    type nat hook postrouting priority 100;")
        out.append("    oifname \"wan0\" masquerade")
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def write_report_section(path, marker, heading, table):
    """Puts table between <!-- marker:begin/end --> in the report at path,
    or appends it under heading when the markers are not there yet."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    text = open(path).read() if os.path.exists(path) else ""
    if begin in text and end in text:
        text = text[:text.index(begin) + len(begin)] + "\n" + table + "\n" + text[text.index(end):]
    else:
        text += f"\n## {heading}\n\n{begin}\n{table}\n{end}\n"
    with open(path, "w") as f:
        f.write(text)


# --- variants ----------------------------------------------------------------

def start_sluiced(sluiced, netns, work, config_text, pin_dir, tag, database="sluice.db"):
    """Starts sluiced in netns with config_text (its files in work, its log
    sluiced-TAG.log, its history in work/DATABASE) and returns the process
    once it runs."""
    path = os.path.join(work, "sluice.toml")
    with open(path, "w") as f:
        f.write(config_text)
    log_path = os.path.join(work, f"sluiced-{tag}.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{netns}", sluiced, "--config", path,
             "--pin-dir", pin_dir, "--socket", os.path.join(work, "sluice.sock"),
             "--database", os.path.join(work, database)],
            stdout=log, stderr=log)
    deadline = time.time() + 120
    while "running with" not in open(log_path).read():
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("sluiced did not start; see " + log_path)
        time.sleep(0.1)
    return proc


# The XDP-only variants and their programs (a fresh, empty table each load).
XDP_OBJECTS = {"xdp": "bench_forward.bpf.o", "xdp-tracked": "bench_tracked.bpf.o",
               "xdp-set-table": "bench_set_table.bpf.o"}


class Variant:
    starts = 0

    def __init__(self, name, label, rule_count):
        self.name, self.label, self.rule_count = name, label, rule_count

    def up(self, work, args):
        rules = ruleset(self.rule_count)
        if self.name == "iptables":
            path = os.path.join(work, "iptables.rules")
            with open(path, "w") as f:
                f.write(iptables_rules(rules))
            ns(RTR, f"iptables-restore {path}")
        elif self.name == "nftables":
            path = os.path.join(work, "nft.rules")
            with open(path, "w") as f:
                f.write(nft_rules(rules))
            ns(RTR, f"nft -f {path}")
        elif self.name in XDP_OBJECTS:
            obj = os.path.join(args.bpf_dir, XDP_OBJECTS[self.name])
            ns(RTR, f"ip link set lan0 xdpdrv obj {obj} sec xdp")
        elif self.name in ("sluice", "sluice-denied"):
            Variant.starts += 1
            self.proc = start_sluiced(
                args.sluiced, RTR, work,
                sluice_config(rules, "denied" if self.name == "sluice-denied" else "all"),
                f"/sys/fs/bpf/{P}", Variant.starts)

    def down(self):
        if self.name == "iptables":
            ns(RTR, "iptables -t nat -F", check=False)
            ns(RTR, "iptables -F FORWARD", check=False)
            ns(RTR, "iptables -P FORWARD ACCEPT", check=False)
        elif self.name == "nftables":
            ns(RTR, "nft delete table ip bench", check=False)
        elif self.name in XDP_OBJECTS:
            ns(RTR, "ip link set lan0 xdpdrv off", check=False)
        elif self.name in ("sluice", "sluice-denied"):
            self.proc.terminate()
            self.proc.wait(timeout=30)
        # Every variant starts with an empty connection table.
        ns(RTR, "conntrack -F", check=False)


def rx_packets():
    out = ns(SINK, "cat /sys/class/net/eth0/statistics/rx_packets").stdout
    return int(out)


def measure(args):
    mac = ns(RTR, "cat /sys/class/net/lan0/address").stdout.strip()
    before = rx_packets()
    # One core does it all (generator, router, sink): the rate is the cost
    # of the whole path, and the scheduler cannot split it differently from
    # one run to the next.
    r = ns(GEN, f"taskset -c 0 {args.flood} eth0 {mac} 10.10.0.0 198.18.0.0 {args.seconds} 65533 {args.flows}")
    after = rx_packets()
    sent = int(r.stdout.split()[1])
    return (after - before) / args.seconds, sent / args.seconds


def main():
    # A kill (ctest's timeout) still tears the namespaces down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("--flood", required=True)
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--bpf-dir", help="where the bench_*.bpf.o programs are "
                    "(default: the directory of --flood)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--counts", default="0,1000,10000,100000")
    ap.add_argument("--flows", type=int, default=0,
                    help="0: a new flow in every packet (the default); N: cycle through N flows, "
                    "so that (after the warm-up) every packet belongs to an established flow")
    ap.add_argument("--variants", default="kernel,xdp,xdp-tracked,xdp-set-table,iptables,nftables,sluice,sluice-denied",
                    help="which variants to run (kernel always runs: it is the baseline)")
    ap.add_argument("--report")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    args.bpf_dir = args.bpf_dir or os.path.dirname(os.path.abspath(args.flood))

    variants = [Variant("kernel", "(a) kernel forwarding, no firewall", 0),
                Variant("xdp", "(x) XDP forwarding alone, no firewall: the ceiling", 0),
                Variant("xdp-tracked", "(y) XDP forwarding and a flow table (the kernel's LRU hash "
                        "map), no firewall", 0),
                Variant("xdp-set-table", "(z) as (y), a flow table of its own (four-way buckets)", 0),
                Variant("iptables", "(b) iptables: conntrack, MASQUERADE, 10,000-rule FORWARD chain", 10000)]
    for c in counts:
        variants.append(Variant("nftables", f"(c) nftables sets, conntrack, masquerade: {c:,} rules", c))
    for c in counts:
        variants.append(Variant("sluice", f"(d) sluice, conntrack, masquerade: {c:,} rules", c))
    for c in counts:
        variants.append(Variant("sluice-denied", f"(e) sluice as (d), flow records for denied traffic only: {c:,} rules", c))

    wanted = set(args.variants.split(",")) | {"kernel"}
    variants = [v for v in variants if v.name in wanted]
    work = tempfile.mkdtemp()
    results = {v.label: [] for v in variants}
    try:
        topology(args.bpf_dir)
        for rnd in range(args.rounds):
            for v in variants:
                v.up(work, args)
                try:
                    measure(argparse.Namespace(**{**vars(args), "seconds": 0.5}))  # warm-up
                    got, sent = measure(args)
                finally:
                    v.down()
                results[v.label].append(got)
                print(f"round {rnd + 1}: {v.label}: {got:,.0f} pps forwarded ({sent:,.0f} sent)", flush=True)
    finally:
        teardown()
        shutil.rmtree(f"/sys/fs/bpf/{P}", ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    medians = {v.label: statistics.median(results[v.label]) for v in variants}
    base = medians[variants[0].label]
    # Issue 18 measures established flows against (x): its column when it ran.
    ceiling = next((medians[v.label] for v in variants if v.name == "xdp"), None)
    lines = [f"Generated by `{' '.join(['tests/bench/forwarding.py'] + sys.argv[1:])}` on "
             f"{time.strftime('%Y-%m-%d')}: {args.rounds} rounds of {args.seconds:g} s per variant, "
             "interleaved; 60-byte UDP frames, " +
             (f"{args.flows:,} flows cycled (after the warm-up, every packet is of an established flow)."
              if args.flows else "a new 5-tuple in every packet."), "",
             "| variant | median pps | ratio to (a) |" + (" ratio to (x) |" if ceiling else ""),
             "|---|---:|---:|" + ("---:|" if ceiling else "")]
    for v in variants:
        m = medians[v.label]
        lines.append(f"| {v.label} | {m:,.0f} | {m / base:.2f}x |" +
                     (f" {m / ceiling:.2f}x |" if ceiling else ""))
    table = "\n".join(lines)
    print(table)
    if args.report:
        write_report_section(args.report, "forwarding-established" if args.flows else "forwarding",
                             "Forwarding", table)


if __name__ == "__main__":
    main()
