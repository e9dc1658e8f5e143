#!/usr/bin/env python3
"""ADD latency of sluice-cni against the stock bridge plugin, and ADD/DEL
cycles that must leave nothing behind.

Each cycle ADDs a container (a network namespace this script made) with
each variant and DELs it again, variants interleaved so that drift on the
machine hits them alike. ADD latency is the plugin's wall time, from its
start to its result, as a runtime sees it:

  (b) bridge    the stock bridge + host-local plugins (/usr/lib/cni)
  (s) sluice    sluice-cni and sluiced: addresses from its IPAM, a veth,
                routes, its programs and anti-spoofing entry, identities
  (r) sluice + selector rules  the same with a rule that selects
                containers by label: every ADD and DEL re-applies the rules

After the cycles, nothing of sluice's may be left (host ends, routes, IPAM
rows, endpoint records, endpoint and identity map entries), nor of the
bridge's (veths, host-local leases): the script exits 1 when something is.
Timings are reported, never judged.

  sudo tests/bench/cni_latency.py --sluiced build/daemon/sluiced \\
      --cni build/daemon/sluice-cni [--cycles 200] [--report docs/benchmarks.md]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forwarding  # noqa: E402  (write_report_section)

P = f"cnb{os.getpid()}"
FW = f"{P}-fw"


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, shell=True, check=check, text=True, capture_output=True, **kw)


CONFIG = """
[api]
listen = ""

[containers]
ipv4 = "10.89.0.0/16"
ipv6 = "fd00:89::/64"
"""
SELECTOR_RULES = """
[[endpoint]]
match = {{ container = "*" }}
labels = {{ app = "bench" }}

[[rule]]
name = "to-bench"
chain = "forward"
to = {{ labels = {{ app = "bench" }} }}
proto = "tcp"
port = 80
action = "accept"
""".format()


class Sluiced:
    def __init__(self, binary, work, tag, selector_rules):
        self.work, self.tag = work, tag
        self.pins = f"/sys/fs/bpf/{P}-{tag}"
        self.sock = f"{work}/{tag}.sock"
        self.db = f"{work}/{tag}/state.db"
        os.makedirs(f"{work}/{tag}")
        conf = f"{work}/{tag}.toml"
        with open(conf, "w") as f:
            f.write(CONFIG + (SELECTOR_RULES if selector_rules else ""))
        self.log = open(f"{work}/{tag}.log", "w")
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{FW}", binary, "--config", conf, "--pin-dir", self.pins,
             "--database", self.db, "--socket", self.sock],
            stderr=self.log)
        for _ in range(200):
            if os.path.exists(self.sock):
                return
            time.sleep(0.05)
        raise SystemExit(f"sluiced ({tag}) did not start: see {work}/{tag}.log")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.pins, ignore_errors=True)


def run_plugin(binary, command, conf, container, netns):
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=container, CNI_NETNS=netns,
               CNI_IFNAME="eth0", CNI_PATH="/usr/lib/cni", CNI_ARGS=f"IgnoreUnknown=1;K8S_POD_NAME={container}")
    start = time.perf_counter()
    r = subprocess.run(["nsenter", f"--net=/run/netns/{FW}", binary], input=json.dumps(conf),
                       env=env, text=True, capture_output=True)
    took = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{binary} {command} {container} failed: {r.stdout} {r.stderr}")
    return took


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def residue(sluiceds, work):
    found = []
    links = sh(f"ip -n {FW} -o link").stdout
    host_ends = re.findall(r"\bsl[0-9a-f]{12}\b", links)
    if host_ends:
        found.append("host ends left: " + " ".join(sorted(set(host_ends))))
    if "veth" in links:
        found.append("bridge veths left")
    routes = sh(f"ip -n {FW} route; ip -n {FW} -6 route").stdout
    if "10.89." in routes or "fd00:89" in routes:
        found.append("routes to containers left")
    for s in sluiceds:
        rows = sh(f"sqlite3 {s.db} 'select count(*) from container_addresses'").stdout.strip()
        if rows != "0":
            found.append(f"{s.tag}: {rows} IPAM rows left")
        for m in ("endpoints", "identities"):
            n = len(json.loads(sh(f"bpftool -j map dump pinned {s.pins}/{m}").stdout))
            if n:
                found.append(f"{s.tag}: {n} {m} map entries left")
    leases = [f for f in os.listdir(f"{work}/host-local/bench") if not f.startswith(("last", "lock"))] \
        if os.path.isdir(f"{work}/host-local/bench") else []
    if leases:
        found.append(f"host-local leases left: {leases}")
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--cni", required=True)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--report")
    args = ap.parse_args()
    if not os.path.exists("/usr/lib/cni/bridge"):
        raise SystemExit("the stock plugins are missing: run scripts/setup")

    work = tempfile.mkdtemp()
    made = []
    sluiceds = []
    try:
        for n in [FW, f"{P}-b", f"{P}-s", f"{P}-r"]:
            sh(f"ip netns add {n}")
            made.append(n)
        sh(f"ip netns exec {FW} sysctl -qw net.ipv4.ip_forward=1")
        plain = Sluiced(args.sluiced, work, "s", False)
        sluiceds.append(plain)
        rules = Sluiced(args.sluiced, work, "r", True)
        sluiceds.append(rules)
        bridge_conf = {"cniVersion": "1.0.0", "name": "bench", "type": "bridge",
                       "bridge": f"{P}br", "isGateway": True,
                       "ipam": {"type": "host-local", "dataDir": f"{work}/host-local",
                                "ranges": [[{"subnet": "10.77.0.0/16"}],
                                           [{"subnet": "fd00:77::/64"}]],
                                "routes": [{"dst": "0.0.0.0/0"}]}}
        variants = [
            ("(b) bridge + host-local", "/usr/lib/cni/bridge", bridge_conf, f"{P}-b"),
            ("(s) sluice", args.cni, {"cniVersion": "1.0.0", "name": "bench", "type": "sluice-cni",
                                      "socket": plain.sock}, f"{P}-s"),
            ("(r) sluice + selector rules", args.cni,
             {"cniVersion": "1.0.0", "name": "bench", "type": "sluice-cni", "socket": rules.sock},
             f"{P}-r"),
        ]
        adds = {v[0]: [] for v in variants}
        dels = {v[0]: [] for v in variants}
        for i in range(args.cycles):
            for label, binary, conf, netns in variants:
                cid = f"c{i}"
                adds[label].append(run_plugin(binary, "ADD", conf, cid, f"/run/netns/{netns}"))
                dels[label].append(run_plugin(binary, "DEL", conf, cid, f"/run/netns/{netns}"))
        sh(f"ip -n {FW} link del {P}br", check=False)
        left = residue(sluiceds, work)
    finally:
        for s in sluiceds:
            s.stop()
        for n in made:
            sh(f"ip netns del {n}", check=False)
        shutil.rmtree(work, ignore_errors=True)

    lines = [f"Generated by `{' '.join(['tests/bench/cni_latency.py'] + sys.argv[1:])}` on "
             f"{time.strftime('%Y-%m-%d')}: {args.cycles} ADD/DEL cycles per variant, interleaved; "
             "wall time of the plugin from its start to its result.", "",
             "| variant | ADD p50 | ADD p99 | DEL p50 | DEL p99 |", "|---|---:|---:|---:|---:|"]
    ms = lambda v: f"{v * 1000:.1f} ms"
    for label, *_ in variants:
        a, d = adds[label], dels[label]
        lines.append(f"| {label} | {ms(statistics.median(a))} | {ms(percentile(a, 0.99))} | "
                     f"{ms(statistics.median(d))} | {ms(percentile(d, 0.99))} |")
    lines.append("")
    lines.append("Residue after the cycles: " + ("; ".join(left) if left else
                 "none (no host end, route, IPAM row, endpoint record or map entry; "
                 "no bridge veth or host-local lease)."))
    table = "\n".join(lines)
    print(table)
    if args.report:
        forwarding.write_report_section(args.report, "cni-latency",
                                        "CNI: ADD latency and ADD/DEL cycles", table)
    sys.exit(1 if left else 0)


if __name__ == "__main__":
    main()
