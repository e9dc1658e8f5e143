#!/usr/bin/env python3
"""The NetworkPolicy conformance cases (docs/kubernetes.md, "Conformance").

The model is the one of Kubernetes' NetworkPolicy e2e suite: namespaces
x, y, z labelled ns=<name>; pods a, b, c in each, labelled pod=<name>,
each serving TCP and UDP on ports 80 and 81 under the port names
serve-<port>-<tcp|udp>. Every case is probed on all 9x9 pod pairs, both
ports and both protocols.

A case is one or more steps; a step is the whole state at that point
(policies, label changes) and the reachability expected then. The
expectation is written the way the upstream suite writes it: a default
and then operations on the 9x9 table ("everything into x/a is denied",
"x/b to x/a is allowed"), optionally for some ports or protocols only; a
pod reaching itself is always allowed (loopback never leaves the pod).
What is expected is NetworkPolicy's meaning, not what sluice computes:
both harnesses (the unit test with the reference evaluator and the
network-namespace suite) compare what they observe against it.

Addresses in ipBlocks are placeholders the harness fills in:
${pod:y/b} (that pod's address) and ${pool} (the pod address pool).

Run it to print the cases as JSON: tests/data/k8s/netpol_cases.json is
its output (style.netpol_cases checks that the two agree).
"""
import json
import sys

TCP, UDP, SCTP = "TCP", "UDP", "SCTP"


def policy(ns, name, pod_selector=None, ingress=None, egress=None, types=None):
    spec = {"podSelector": pod_selector if pod_selector is not None else {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is None:
        types = (["Ingress"] if ingress is not None or egress is None else []) + \
                (["Egress"] if egress is not None else [])
    spec["policyTypes"] = types
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": ns, "name": name}, "spec": spec}


def labels(**kv):
    return {"matchLabels": dict(kv)}


def expr(key, op, values=None):
    e = {"key": key, "operator": op}
    if values is not None:
        e["values"] = values
    return {"matchExpressions": [e]}


def pods(sel):
    return {"podSelector": sel}


def nss(sel):
    return {"namespaceSelector": sel}


def both(ns_sel, pod_sel):
    return {"namespaceSelector": ns_sel, "podSelector": pod_sel}


def block(cidr, *except_):
    b = {"cidr": cidr}
    if except_:
        b["except"] = list(except_)
    return {"ipBlock": b}


def port(p=None, proto=None, end=None):
    out = {}
    if proto:
        out["protocol"] = proto
    if p is not None:
        out["port"] = p
    if end is not None:
        out["endPort"] = end
    return out


def rule(peers=None, ports=None, key="from"):
    r = {}
    if peers is not None:
        r[key] = peers
    if ports is not None:
        r["ports"] = ports
    return r


def egress_rule(peers=None, ports=None):
    return rule(peers, ports, "to")


def deny(frm, to, **only):
    return dict({"from": frm, "to": to, "allow": False}, **only)


def allow(frm, to, **only):
    return dict({"from": frm, "to": to, "allow": True}, **only)


def step(policies, expect, default=True, ns_labels=None, pod_labels=None):
    s = {"policies": policies, "default": default, "expect": expect}
    if ns_labels:
        s["namespace_labels"] = ns_labels
    if pod_labels:
        s["pod_labels"] = pod_labels
    return s


CASES = []


def case(name, upstream, *steps):
    CASES.append({"name": name, "upstream": upstream, "steps": list(steps)})


A = labels(pod="a")
# --- cases modelled on test/e2e/network/netpol/network_policy.go --------
case("default-deny-ingress", "should support a 'default-deny-ingress' policy",
     step([policy("x", "deny-ingress", {}, ingress=[])], [deny("*", "x/*")]))
case("default-deny-all", "should support a 'default-deny-all' policy",
     step([policy("x", "deny-all", {}, ingress=[], egress=[])],
          [deny("*", "x/*"), deny("x/*", "*")]))
case("pod-selector-same-namespace",
     "should enforce policy to allow traffic from pods within server namespace based on PodSelector",
     step([policy("x", "x-a-from-b", A, ingress=[rule([pods(labels(pod="b"))])])],
          [deny("*", "x/a"), allow("x/b", "x/a")]))
case("ingress-for-a-target", "should enforce policy to allow ingress traffic for a target",
     step([policy("x", "deny-all", {}, ingress=[]),
           policy("x", "allow-all-to-a", A, ingress=[rule([both({}, {})])])],
          [deny("*", "x/b"), deny("*", "x/c")]))
case("ingress-from-all-namespaces",
     "should enforce policy to allow ingress traffic from pods in all namespaces",
     step([policy("x", "allow-from-all-ns", {}, ingress=[rule([nss({})])])], []))
case("namespace-selector-other-namespace",
     "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
     step([policy("x", "allow-from-y", {}, ingress=[rule([nss(labels(ns="y"))])])],
          [deny("x/*", "x/*"), deny("z/*", "x/*")]))
case("pod-selector-match-expressions", "should enforce policy based on PodSelector with MatchExpressions",
     step([policy("x", "allow-b-by-expr", A, ingress=[rule([pods(expr("pod", "In", ["b"]))])])],
          [deny("*", "x/a"), allow("x/b", "x/a")]))
case("namespace-selector-match-expressions",
     "should enforce policy based on NamespaceSelector with MatchExpressions",
     step([policy("x", "allow-y-by-expr", A, ingress=[rule([nss(expr("ns", "In", ["y"]))])])],
          [deny("*", "x/a"), allow("y/*", "x/a")]))
case("pod-or-namespace-selector", "should enforce policy based on PodSelector or NamespaceSelector",
     step([policy("x", "b-or-other-ns", A,
                  ingress=[rule([nss(expr("ns", "NotIn", ["x"])), pods(labels(pod="b"))])])],
          [deny("x/c", "x/a")]))
case("pod-and-namespace-selector", "should enforce policy based on PodSelector and NamespaceSelector",
     step([policy("x", "b-in-other-ns", A,
                  ingress=[rule([both(expr("ns", "NotIn", ["x"]), labels(pod="b"))])])],
          [deny("*", "x/a"), allow("y/b", "x/a"), allow("z/b", "x/a")]))
case("multiple-pod-and-namespace-selectors",
     "should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
     step([policy("x", "bc-in-other-ns", A,
                  ingress=[rule([both(expr("ns", "NotIn", ["x"]), expr("pod", "In", ["b", "c"]))])])],
          [deny("*", "x/a"), allow("y/b", "x/a"), allow("y/c", "x/a"), allow("z/b", "x/a"),
           allow("z/c", "x/a")]))
case("any-pod-selectors", "should enforce policy based on any PodSelectors",
     step([policy("x", "b-or-c", A,
                  ingress=[rule([pods(labels(pod="b")), pods(labels(pod="c"))])])],
          [deny("*", "x/a"), allow("x/b", "x/a"), allow("x/c", "x/a")]))
case("pod-in-other-namespace",
     "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
     step([policy("x", "y-a-only", A, ingress=[rule([both(labels(ns="y"), labels(pod="a"))])])],
          [deny("*", "x/a"), allow("y/a", "x/a")]))
case("ports", "should enforce policy based on Ports",
     step([policy("x", "y-on-81", A, ingress=[rule([nss(labels(ns="y"))], [port(81, TCP)])])],
          [deny("*", "x/a"), allow("y/*", "x/a", ports=[81], protocols=[TCP])]))
case("stacked-overlapping-policies",
     "should enforce multiple, stacked policies with overlapping podSelectors",
     step([policy("x", "y-on-81", A, ingress=[rule([nss(labels(ns="y"))], [port(81, TCP)])])],
          [deny("*", "x/a"), allow("y/*", "x/a", ports=[81], protocols=[TCP])]),
     step([policy("x", "y-on-81", A, ingress=[rule([nss(labels(ns="y"))], [port(81, TCP)])]),
           policy("x", "y-on-80", A, ingress=[rule([nss(labels(ns="y"))], [port(80, TCP)])])],
          [deny("*", "x/a"), allow("y/*", "x/a", protocols=[TCP])]))
case("allow-all", "should support allow-all policy",
     step([policy("x", "allow-all", {}, ingress=[rule()])], []))
case("ingress-named-port", "should allow ingress access on one named port",
     step([policy("x", "named-81", {}, ingress=[rule(None, [port("serve-81-tcp")])])],
          [deny("*", "x/*"), allow("*", "x/*", ports=[81], protocols=[TCP])]))
case("ingress-named-port-from-namespace", "should allow ingress access from namespace on one named port",
     step([policy("x", "y-named-80", {},
                  ingress=[rule([nss(labels(ns="y"))], [port("serve-80-tcp")])])],
          [deny("*", "x/*"), allow("y/*", "x/*", ports=[80], protocols=[TCP])]))
case("egress-named-port", "should allow egress access on one named port",
     step([policy("x", "egress-named-80", {}, egress=[egress_rule(None, [port("serve-80-tcp")])])],
          [deny("x/*", "*"), allow("x/*", "*", ports=[80], protocols=[TCP])]))
case("updated-policy", "should enforce updated policy",
     step([policy("x", "allow-all-mutate", {}, ingress=[rule([both({}, {})])])], []),
     step([policy("x", "allow-all-mutate", {},
                  ingress=[rule([both({}, {})], [port(81, TCP)])])],
          [deny("*", "x/*"), allow("*", "x/*", ports=[81], protocols=[TCP])]))
case("updated-namespace", "should allow ingress access from updated namespace",
     step([policy("x", "from-updated-ns", A, ingress=[rule([nss(labels(ns2="updated"))])])],
          [deny("*", "x/a")]),
     step([policy("x", "from-updated-ns", A, ingress=[rule([nss(labels(ns2="updated"))])])],
          [deny("*", "x/a"), allow("y/*", "x/a")], ns_labels={"y": {"ns2": "updated"}}))
case("updated-pod", "should allow ingress access from updated pod",
     step([policy("x", "from-updated-pod", A, ingress=[rule([pods(labels(pod2="updated"))])])],
          [deny("*", "x/a")]),
     step([policy("x", "from-updated-pod", A, ingress=[rule([pods(labels(pod2="updated"))])])],
          [deny("*", "x/a"), allow("x/b", "x/a")], pod_labels={"x/b": {"pod2": "updated"}}))
case("deny-other-namespaces", "should deny ingress from pods on other namespaces",
     step([policy("x", "same-ns-only", {}, ingress=[rule([pods({})])])],
          [deny("y/*", "x/*"), deny("z/*", "x/*")]))
case("updated-pod-isolated", "should deny ingress access to updated pod",
     step([policy("x", "deny-isolated", labels(target="isolated"), ingress=[])], []),
     step([policy("x", "deny-isolated", labels(target="isolated"), ingress=[])],
          [deny("*", "x/a")], pod_labels={"x/a": {"target": "isolated"}}))
case("egress-deny-pod", "should deny egress from pods based on PodSelector",
     step([policy("x", "deny-egress-a", A, egress=[])], [deny("x/a", "*")]))
case("egress-deny-namespace", "should deny egress from all pods in a namespace",
     step([policy("x", "deny-egress-all", {}, egress=[])], [deny("x/*", "*")]))
case("ingress-and-egress-together", "should work with Ingress, Egress specified together",
     step([policy("x", "ingress-egress", A, ingress=[rule([pods(labels(pod="b"))])],
                  egress=[egress_rule(None, [port(80, TCP), port(53, UDP)])])],
          [deny("*", "x/a"), allow("x/b", "x/a"), deny("x/a", "*"),
           allow("x/a", "*", ports=[80], protocols=[TCP])]))
case("client-side-egress-deny",
     "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
     step([policy("x", "x-a-to-y-a", A, egress=[egress_rule([both(labels(ns="y"), labels(pod="a"))])]),
           policy("y", "from-x-a", {}, ingress=[rule([both(labels(ns="x"), labels(pod="a"))])])],
          [deny("x/a", "*"), deny("*", "y/*"), allow("x/a", "y/a")]))
case("egress-other-namespace-pod",
     "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
     step([policy("x", "to-y-a", A, egress=[egress_rule([both(labels(ns="y"), labels(pod="a"))])])],
          [deny("x/a", "*"), allow("x/a", "y/a")]))
case("any-port-one-protocol",
     "should enforce ingress policy allowing any port traffic to a server on a specific protocol",
     step([policy("x", "tcp-any-port", {}, ingress=[rule(None, [port(None, TCP)])])],
          [deny("*", "x/*", protocols=[UDP])]))
case("ingress-allow-all-precedence",
     "should enforce multiple ingress policies with ingress allow-all policy taking precedence",
     step([policy("x", "only-80", A, ingress=[rule(None, [port(80, TCP)])])],
          [deny("*", "x/a"), allow("*", "x/a", ports=[80], protocols=[TCP])]),
     step([policy("x", "only-80", A, ingress=[rule(None, [port(80, TCP)])]),
           policy("x", "allow-all", {}, ingress=[rule()])], []))
case("egress-allow-all-precedence",
     "should enforce multiple egress policies with egress allow-all policy taking precedence",
     step([policy("x", "only-80", A, egress=[egress_rule(None, [port(80, TCP)])])],
          [deny("x/a", "*"), allow("x/a", "*", ports=[80], protocols=[TCP])]),
     step([policy("x", "only-80", A, egress=[egress_rule(None, [port(80, TCP)])]),
           policy("x", "allow-all", {}, egress=[egress_rule()])], []))
case("deleted-policies", "should stop enforcing policies after they are deleted",
     step([policy("x", "deny-all", {}, ingress=[], egress=[])],
          [deny("*", "x/*"), deny("x/*", "*")]),
     step([], []))
case("egress-cidr", "should allow egress access to server in CIDR block",
     step([policy("x", "to-y-b-cidr", A, egress=[egress_rule([block("${pod:y/b}/32")])])],
          [deny("x/a", "*"), allow("x/a", "y/b")]))
case("egress-cidr-except", "should enforce except clause while egress access to server in CIDR block",
     step([policy("x", "pool-but-y-b", A, egress=[egress_rule([block("${pool}", "${pod:y/b}/32")])])],
          [deny("x/a", "y/b")]))
case("cidr-and-except-overlap",
     "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed",
     step([policy("x", "pool-but-y-b", A, egress=[egress_rule([block("${pool}", "${pod:y/b}/32")])])],
          [deny("x/a", "y/b")]),
     step([policy("x", "pool-but-y-b", A, egress=[egress_rule([block("${pool}", "${pod:y/b}/32")])]),
           policy("x", "y-b", A, egress=[egress_rule([block("${pod:y/b}/32")])])], []))
case("ingress-egress-independent",
     "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
     step([policy("x", "deny-ingress-a", A, ingress=[])], [deny("*", "x/a")]),
     step([policy("x", "deny-ingress-a", A, ingress=[]),
           policy("x", "deny-egress-a", A, egress=[])],
          [deny("*", "x/a"), deny("x/a", "*")]))
case("sctp-is-not-tcp",
     "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
     step([policy("x", "sctp-80", A, ingress=[rule(None, [port(80, SCTP)])])], [deny("*", "x/a")]))
case("sctp-isolates",
     "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
     step([policy("x", "sctp-all", {}, ingress=[rule(None, [port(None, SCTP)])])],
          [deny("*", "x/*")]))
case("udp-only-not-tcp", "should not allow access by TCP when a policy specifies only UDP",
     step([policy("x", "udp-81", A, ingress=[rule(None, [port(81, UDP)])])],
          [deny("*", "x/a"), allow("*", "x/a", ports=[81], protocols=[UDP])]))
case("default-namespace-label",
     "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
     step([policy("x", "from-y-by-name", A,
                  ingress=[rule([nss(labels(**{"kubernetes.io/metadata.name": "y"}))])])],
          [deny("*", "x/a"), allow("y/*", "x/a")]))
case("default-namespace-label-expressions",
     "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
     step([policy("x", "not-from-y-by-name", A,
                  ingress=[rule([nss(expr("kubernetes.io/metadata.name", "NotIn", ["y"]))])])],
          [deny("y/*", "x/a")]))
case("port-range", "should enforce policy based on Ports range (endPort)",
     step([policy("x", "y-on-80-81", A,
                  ingress=[rule([nss(labels(ns="y"))], [port(80, TCP, end=81)])])],
          [deny("*", "x/a"), allow("y/*", "x/a", protocols=[TCP])]))
case("port-range-egress", "should enforce egress policy based on Ports range (endPort)",
     step([policy("x", "egress-81-90", A, egress=[egress_rule(None, [port(81, TCP, end=90)])])],
          [deny("x/a", "*"), allow("x/a", "*", ports=[81], protocols=[TCP])]))
case("udp-any-port", "should enforce ingress policy allowing any port traffic on UDP",
     step([policy("x", "udp-any-port", {}, ingress=[rule(None, [port(None, UDP)])])],
          [deny("*", "x/*", protocols=[TCP])]))

# --- generated-style cases (combinations of the parts above) -------------
case("deny-ingress-two-namespaces", "generated: default-deny-ingress in x and y",
     step([policy("x", "deny", {}, ingress=[]), policy("y", "deny", {}, ingress=[])],
          [deny("*", "x/*"), deny("*", "y/*")]))
case("egress-to-namespace", "generated: egress only to namespace z",
     step([policy("x", "to-z", {}, egress=[egress_rule([nss(labels(ns="z"))])])],
          [deny("x/*", "*"), allow("x/*", "z/*")]))
case("ingress-from-b-everywhere", "generated: ingress from pods b of every namespace",
     step([policy("x", "from-any-b", {}, ingress=[rule([both({}, labels(pod="b"))])])],
          [deny("*", "x/*"), allow("*/b", "x/*")]))
case("egress-except-namespace-pods", "generated: egress to the pool except the pods of z",
     step([policy("x", "not-z", A, egress=[egress_rule(
         [block("${pool}", "${pod:z/a}/32", "${pod:z/b}/32", "${pod:z/c}/32")])])],
          [deny("x/a", "z/*")]))
case("ingress-from-cidr", "generated: ingress from one address",
     step([policy("x", "from-y-c", A, ingress=[rule([block("${pod:y/c}/32")])])],
          [deny("*", "x/a"), allow("y/c", "x/a")]))
case("both-sides-isolated", "generated: egress of x to y, ingress of y from x/a",
     step([policy("x", "to-y", {}, egress=[egress_rule([nss(labels(ns="y"))])]),
           policy("y", "from-x-a", {}, ingress=[rule([both(labels(ns="x"), labels(pod="a"))])])],
          [deny("x/*", "*"), deny("*", "y/*"), allow("x/a", "y/*")]))
case("egress-named-port-to-namespace", "generated: egress to y on one named UDP port",
     step([policy("x", "to-y-udp-81", A,
                  egress=[egress_rule([nss(labels(ns="y"))], [port("serve-81-udp", UDP)])])],
          [deny("x/a", "*"), allow("x/a", "y/*", ports=[81], protocols=[UDP])]))
case("named-port-wrong-protocol", "generated: a named port asked for with the other protocol",
     step([policy("x", "serve-80-tcp-as-udp", {}, ingress=[rule(None, [port("serve-80-tcp", UDP)])])],
          [deny("*", "x/*")]))
case("pod-exists-expression", "generated: ingress from pods with a pod label in any namespace",
     step([policy("x", "pod-label-exists", {}, ingress=[rule([both({}, expr("pod", "Exists"))])])], []))
case("pod-does-not-exist-expression", "generated: ingress from pods without a pod label",
     step([policy("x", "no-pod-label", {}, ingress=[rule([pods(expr("pod", "DoesNotExist"))])])],
          [deny("*", "x/*")]))
case("egress-and-ingress-ports-intersect", "generated: sender allows 80, receiver allows 80-81",
     step([policy("x", "egress-80", A, egress=[egress_rule(None, [port(80)])]),
           policy("y", "ingress-80-81", {}, ingress=[rule(None, [port(80, TCP, end=81)])])],
          [deny("x/a", "*"), allow("x/a", "*", ports=[80], protocols=[TCP]),
           deny("*", "y/*", protocols=[UDP])]))
case("policy-in-other-namespace", "generated: a policy of z does not select pods of x",
     step([policy("z", "deny-a", A, ingress=[])], [deny("*", "z/a")]))

POD_PORTS = [("serve-%d-%s" % (p, proto.lower()), p, proto) for p in (80, 81) for proto in (TCP, UDP)]


def main():
    json.dump({"namespaces": ["x", "y", "z"], "pods": ["a", "b", "c"],
               "ports": [80, 81], "protocols": [TCP, UDP],
               "pod_ports": [{"name": n, "containerPort": p, "protocol": pr} for n, p, pr in POD_PORTS],
               "cases": CASES}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
