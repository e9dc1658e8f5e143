#!/usr/bin/env python3
"""Runs the NetworkPolicy conformance cases (netpol_cases.json) against
real pods: network namespaces wired by sluice-cni, each serving TCP and
UDP on 80 and 81 (probe_agent.py), a sluiced following the replay server
(replay_server.py). For every step of every case it writes the cluster's
state, waits until sluiced logs that it applied it, probes every pod pair
on both ports and protocols from inside the pods, and compares what
answered with what the case expects. A probe that disagrees is tried
again with a longer timeout before it counts (a slow answer is not a
denial); nothing else is retried.

  conformance.py --cases FILE --state FILE --log SLUICED_LOG --pods FILE
                 [--only NAME]

pods FILE: [{"ns": "x", "name": "a", "netns": "...", "ip": "10.42.0.3",
"node": "node-1"}, ...]. Exits 1 when any probe disagrees.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(HERE, "probe_agent.py")
APPLIED = re.compile(r"kubernetes: state \d+ \((\d+) pods, (\d+) network policies\): (\d+) rules applied")


def pod_id(p):
    return p["ns"] + "/" + p["name"]


def matches(pattern, p):
    if pattern == "*":
        return True
    ns, name = pattern.split("/")
    return ns in ("*", p["ns"]) and name in ("*", p["name"])


def expected(step, frm, to, port, proto):
    if pod_id(frm) == pod_id(to):
        return True
    allowed = step["default"]
    for op in step["expect"]:
        if (matches(op["from"], frm) and matches(op["to"], to)
                and port in op.get("ports", [port]) and proto in op.get("protocols", [proto])):
            allowed = op["allow"]
    return allowed


def substitute(obj, pods, pool):
    text = json.dumps(obj)
    for p in pods:
        text = text.replace("${pod:%s}" % pod_id(p), p["ip"])
    return json.loads(text.replace("${pool}", pool))


def state_of(cases, step, pods, pool, serial):
    # A namespace without pods whose label changes every step: sluiced
    # sees a change (and logs an apply) even when two steps in a row have
    # the same policies.
    namespaces = [{"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": "conformance-sync", "labels": {"step": str(serial)}}}]
    for ns in cases["namespaces"]:
        labels = {"ns": ns, "kubernetes.io/metadata.name": ns}
        labels.update(step.get("namespace_labels", {}).get(ns, {}))
        namespaces.append({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": ns, "labels": labels}})
    pod_objects = []
    for p in pods:
        labels = {"pod": p["name"]}
        labels.update(step.get("pod_labels", {}).get(pod_id(p), {}))
        pod_objects.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": p["ns"], "name": p["name"], "labels": labels},
            "spec": {"nodeName": p.get("node", "node-1"),
                     "containers": [{"name": "server", "ports": cases["pod_ports"]}]},
            "status": {"phase": "Running", "podIP": p["ip"], "podIPs": [{"ip": p["ip"]}]}})
    return {"namespaces": namespaces, "pods": pod_objects,
            "networkpolicies": substitute(step["policies"], pods, pool)}


def write_state(path, state):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.rename(tmp, path)


def applied_lines(log):
    with open(log, errors="replace") as f:
        return [m for m in (APPLIED.search(line) for line in f) if m]


def wait_applied(log, before, policies, timeout=10.0):
    """Waits for a new 'rules applied' line with this many policies; then
    for the log to stay quiet a moment (a burst may be applied in two).
    Returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        lines = applied_lines(log)
        if len(lines) > before and int(lines[-1].group(2)) == policies:
            took = time.monotonic() - start
            time.sleep(0.1)
            if len(applied_lines(log)) == len(lines):
                return took
            continue
        time.sleep(0.01)
    raise RuntimeError("sluiced did not apply a state with %d policies within %.0f s" % (policies, timeout))


def probe_all(pods, targets_of, timeout):
    """Runs the probes of every pod at once; returns {pod_id: [bool]}."""
    procs = {}
    for p in pods:
        targets = targets_of(p)
        if targets:
            procs[pod_id(p)] = subprocess.Popen(
                ["ip", "netns", "exec", p["netns"], "python3", AGENT, "probe", str(timeout),
                 json.dumps(targets)], stdout=subprocess.PIPE, text=True)
    return {k: json.loads(proc.communicate()[0]) for k, proc in procs.items()}


def run_step(cases, step, pods):
    combos = [(port, proto) for port in cases["ports"] for proto in cases["protocols"]]
    pairs = [(f, t, port, proto) for f in pods for t in pods if f is not t for port, proto in combos]
    by_pod = {}
    for f, t, port, proto in pairs:
        by_pod.setdefault(pod_id(f), []).append((t, port, proto))
    got = probe_all(pods, lambda p: [[t["ip"], port, proto] for t, port, proto in by_pod[pod_id(p)]], 0.4)
    wrong = []
    for p in pods:
        for (t, port, proto), ok in zip(by_pod[pod_id(p)], got[pod_id(p)]):
            if ok != expected(step, p, t, port, proto):
                wrong.append((p, t, port, proto))
    if wrong:  # again, slowly: only a slow answer may change its mind
        again = probe_all(pods, lambda p: [[t["ip"], port, proto] for f, t, port, proto in wrong
                                          if f is p], 3.0)
        seen = {}
        for f, t, port, proto in wrong:
            i = seen.get(pod_id(f), 0)
            seen[pod_id(f)] = i + 1
            ok = again[pod_id(f)][i]
            if ok == expected(step, f, t, port, proto):
                continue
            yield "%s -> %s %s/%d: expected %s, was %s" % (pod_id(f), pod_id(t), proto, port,
                                                        "allowed" if not ok else "denied",
                                                        "denied" if not ok else "allowed")
    return len(pairs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pods", required=True)
    ap.add_argument("--pool", default="10.42.0.0/24")
    ap.add_argument("--only")
    args = ap.parse_args()
    with open(args.cases) as f:
        cases = json.load(f)
    with open(args.pods) as f:
        pods = json.load(f)
    failed, probes, steps, apply_times = [], 0, 0, []
    for case in cases["cases"]:
        if args.only and case["name"] != args.only:
            continue
        for n, step in enumerate(case["steps"], 1):
            before = len(applied_lines(args.log))
            write_state(args.state, state_of(cases, step, pods, args.pool, steps))
            apply_times.append(wait_applied(args.log, before, len(step["policies"])))
            gen = run_step(cases, step, pods)
            wrong = []
            try:
                while True:
                    wrong.append(next(gen))
            except StopIteration as done:
                probes += done.value
            steps += 1
            name = "%s step %d" % (case["name"], n)
            if wrong:
                failed.append(name)
                print("FAIL - %s: %d probes wrong, e.g. %s" % (name, len(wrong), "; ".join(wrong[:3])))
            else:
                print("ok   - %s" % name, flush=True)
    apply_times.sort()
    print("conformance: %d cases, %d steps, %d probes; %d steps failed" %
          (len({c["name"] for c in cases["cases"] if not args.only or c["name"] == args.only}),
           steps, probes, len(failed)))
    if apply_times:
        print("state written -> rules applied (as logged): median %.0f ms, max %.0f ms" %
              (apply_times[len(apply_times) // 2] * 1000, apply_times[-1] * 1000))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
