#!/usr/bin/env python3
"""HTTP through sluice's L7 proxy against the same requests sent directly
and through nginx as a reverse proxy with the same allow list (only
GET /api/v1/.*), measured with wrk in one run, variants interleaved:

  direct      client -> router (plain forwarding, an L3/L4 rule) -> server
  sluice      the same, steered through sluice's proxy by an http rule
  nginx-1     nginx on the router, one worker
  nginx-auto  nginx on the router, a worker per core (as the proxy's
              default: a worker thread per core)

each with keep-alive and with Connection: close, reporting requests per
second and wrk's p50/p99. The server is nginx serving a 1 KiB file.
sluiced runs with [flows] events = "denied" (a record for every refused
request, counters for all; nginx logs no access either); a last pass
applies events = "all", a record in the flow history for every request.

  sudo tests/bench/l7.py --sluiced build/daemon/sluiced \\
      [--rounds 3] [--seconds 5] [--report docs/benchmarks.md]

Reports; never judges (the targets are in docs/benchmarks.md).
"""
import argparse
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

P = f"l7b{os.getpid()}"
CLI, FW, SRV = f"{P}-cli", f"{P}-fw", f"{P}-srv"


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, shell=True, check=check, text=True, capture_output=True, **kw)


def lab():
    for ns in (CLI, FW, SRV):
        sh(f"ip netns add {ns}")
        sh(f"ip -n {ns} link set lo up")
    sh(f"ip link add lan0 netns {FW} type veth peer name eth0 netns {CLI}")
    sh(f"ip link add wan0 netns {FW} type veth peer name eth0 netns {SRV}")
    for ns, dev, addr in ((CLI, "eth0", "10.10.1.10/24"), (FW, "lan0", "10.10.1.1/24"),
                          (FW, "wan0", "10.10.2.1/24"), (SRV, "eth0", "10.10.2.2/24")):
        sh(f"ip -n {ns} addr add {addr} dev {dev}")
        sh(f"ip -n {ns} link set {dev} up")
    sh(f"ip -n {CLI} route add default via 10.10.1.1")
    sh(f"ip -n {SRV} route add default via 10.10.2.1")
    sh(f"ip netns exec {FW} sysctl -qw net.ipv4.ip_forward=1")


def teardown(work, procs):
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
    for ns in (CLI, FW, SRV):
        sh(f"ip netns del {ns}", check=False)
    shutil.rmtree(f"/sys/fs/bpf/{P}", ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


def nginx_conf(work, name, body, workers=1):
    path = f"{work}/{name}.conf"
    with open(path, "w") as f:
        f.write(f"""worker_processes {workers}; pid {work}/{name}.pid; error_log /dev/null;
events {{ worker_connections 8192; }}
http {{ access_log off; keepalive_requests 1000000; {body} }}
""")
    return path


def start(ns, argv, log):
    return subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=log, stderr=log)


SLUICE_CONFIG = """
[api]
listen = ""

[[interface]]
name = "lan0"

[[interface]]
name = "wan0"

[flows]
events = "{events}"

[chains]
input = "drop"
forward = "drop"

[[rule]]
name = "nginx"
chain = "input"
proto = "tcp"
port = [8888, 8889]
action = "accept"

[[rule]]
name = "direct"
chain = "forward"
to = "10.10.2.2"
proto = "tcp"
port = 8080
action = "accept"

[[rule]]
name = "api"
chain = "forward"
to = "10.10.2.2"
proto = "tcp"
port = 80
action = "accept"
http = [{{ method = "GET", path = "/api/v1/.*" }}]
"""

# The allow list in nginx's words: GET under /api/v1/, 403 for the rest.
ALLOW_LIST = """
upstream up {{ server 10.10.2.2:8080; keepalive 256; }}
server {{ listen 10.10.1.1:{port};
  location ~ ^/api/v1/ {{ limit_except GET {{ deny all; }}
    proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }}
  location / {{ return 403; }} }}
"""

VARIANTS = {
    "direct": "http://10.10.2.2:8080/api/v1/item",
    "sluice": "http://10.10.2.2/api/v1/item",
    "nginx-1": "http://10.10.1.1:8888/api/v1/item",
    "nginx-auto": "http://10.10.1.1:8889/api/v1/item",
}


def status(url):
    return sh(f"ip netns exec {CLI} curl -s -m 5 -o /dev/null -w '%{{http_code}}' {url}",
              check=False).stdout


def wrk(url, seconds, close):
    header = "-H 'Connection: close'" if close else ""
    out = sh(f"ip netns exec {CLI} wrk -t2 -c64 -d{seconds}s --latency {header} {url}").stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(q):
        v, unit = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} answers were not 200")
    return rps, ms(50), ms(99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluiced", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--report")
    args = ap.parse_args()
    seconds = max(1, int(args.seconds))
    work = tempfile.mkdtemp()
    os.chmod(work, 0o755)
    procs = []
    try:
        lab()
        os.makedirs(f"{work}/www/api/v1")
        with open(f"{work}/www/api/v1/item", "w") as f:
            f.write("x" * 1024)
        os.chmod(f"{work}/www", 0o755)
        log = open(f"{work}/procs.log", "w")
        server = f"server {{ listen 10.10.2.2:8080 reuseport; listen 10.10.2.2:80 reuseport; root {work}/www; }}"
        procs.append(start(SRV, ["nginx", "-c", nginx_conf(work, "server", server, "auto"), "-g", "daemon off;"], log))
        procs.append(start(FW, ["nginx", "-c", nginx_conf(work, "rp1", ALLOW_LIST.format(port=8888)), "-g", "daemon off;"], log))
        procs.append(start(FW, ["nginx", "-c", nginx_conf(work, "rpauto", ALLOW_LIST.format(port=8889), "auto"), "-g", "daemon off;"], log))
        conf = f"{work}/sluice.toml"
        with open(conf, "w") as f:
            f.write(SLUICE_CONFIG.format(events="denied"))
        sock = f"{work}/sluice.sock"
        procs.append(subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{FW}", args.sluiced, "--config", conf, "--pin-dir",
             f"/sys/fs/bpf/{P}", "--database", f"{work}/sluice.db", "--socket", sock], stderr=log))
        deadline = time.time() + 20
        # Up: the proxy answers /admin itself, nginx passes the allow list.
        while (status(VARIANTS["sluice"].replace("/api/v1/item", "/admin")) != "403" or
               status(VARIANTS["nginx-auto"]) != "200"):
            if time.time() > deadline:
                sys.exit("the variants did not come up: " + open(f"{work}/procs.log").read()[-2000:])
            time.sleep(0.2)
        for name, url in VARIANTS.items():
            if status(url) != "200" or (name != "direct" and status(url.replace("/api/v1/item", "/admin")) != "403"):
                sys.exit(f"{name}: the allow list is not in force")

        results = {(v, m): [] for v in VARIANTS for m in ("keep-alive", "close")}
        for _ in range(args.rounds):
            for mode in ("keep-alive", "close"):
                for name, url in VARIANTS.items():
                    results[(name, mode)].append(wrk(url, seconds, mode == "close"))
        # A record in the flow history for every request.
        with open(conf, "w") as f:
            f.write(SLUICE_CONFIG.format(events="all"))
        sh(f"nsenter --net=/run/netns/{FW} {os.path.dirname(args.sluiced)}/sluicectl --socket {sock} apply")
        recorded = {m: [wrk(VARIANTS["sluice"], seconds, m == "close") for _ in range(args.rounds)]
                    for m in ("keep-alive", "close")}
    finally:
        teardown(work, procs)

    def med(samples, i):
        return statistics.median(s[i] for s in samples)
    lines = [f"Generated by `tests/bench/l7.py --sluiced build/daemon/sluiced --rounds {args.rounds} "
             f"--seconds {seconds}` on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} cores, wrk -t2 "
             f"-c64, a 1 KiB file from nginx; medians of {args.rounds} interleaved rounds).", ""]
    for mode in ("keep-alive", "close"):
        direct = med(results[("direct", mode)], 0)
        nginx1 = med(results[("nginx-1", mode)], 0)
        lines += [f"**{mode}**", "",
                  "| variant | req/s | vs direct | vs nginx-1 | p50 | p99 |",
                  "|---|---:|---:|---:|---:|---:|"]
        rows = [(n, results[(n, mode)]) for n in VARIANTS]
        rows.append(("sluice, every request recorded", recorded[mode]))
        for name, samples in rows:
            rps = med(samples, 0)
            lines.append(f"| {name} | {rps:,.0f} | {rps / direct:.2f}x | {rps / nginx1:.2f}x | "
                         f"{med(samples, 1):.2f} ms | {med(samples, 2):.2f} ms |")
        lines.append("")
    table = "\n".join(lines)
    print(table)
    if args.report:
        forwarding.write_report_section(args.report, "l7", "L7: HTTP through the proxy", table)


if __name__ == "__main__":
    main()
