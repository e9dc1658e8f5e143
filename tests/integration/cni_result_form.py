#!/usr/bin/env python3
"""Compares the form of two CNI ADD results where the spec fixes it.

  cni_result_form.py VERSION OURS.json STOCK_VERSION STOCK.json

Exits 0 when sluice-cni's result has the shape the spec gives a result of
VERSION, field by field as the stock plugins (bridge + host-local) fill
them in STOCK_VERSION (the same, or 1.0.0 for 1.1.0, which Debian 12's
plugins do not speak and whose result has 1.0.0's form): cniVersion; interfaces with name and a MAC, the container's with its
sandbox; ips with a CIDR address, a gateway and the index of an interface
that has a sandbox (and, in 0.4.0 only, "version"); routes with a CIDR
dst and gw; dns an object. Prints every difference.
"""
import ipaddress
import json
import re
import sys

MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def problems(version, r, who):
    out = []
    say = lambda msg: out.append(f"{who}: {msg}")
    if r.get("cniVersion") != version:
        say(f"cniVersion {r.get('cniVersion')!r}, not {version!r}")
    ifaces = r.get("interfaces")
    if not isinstance(ifaces, list) or not ifaces:
        say("no interfaces")
        ifaces = []
    for i, itf in enumerate(ifaces):
        if not isinstance(itf.get("name"), str) or not itf["name"]:
            say(f"interfaces[{i}] has no name")
        if not MAC.match(str(itf.get("mac", ""))):
            say(f"interfaces[{i}].mac {itf.get('mac')!r} is not a MAC address")
        unknown = set(itf) - {"name", "mac", "sandbox", "mtu", "socketPath", "pciID"}
        if unknown:
            say(f"interfaces[{i}] has keys the spec does not: {sorted(unknown)}")
    ips = r.get("ips", [])
    if not ips:
        say("no ips")
    for i, ip in enumerate(ips):
        try:
            ipaddress.ip_interface(ip["address"])
            if "/" not in ip["address"]:
                raise ValueError
        except (KeyError, ValueError):
            say(f"ips[{i}].address {ip.get('address')!r} is not an address with a prefix length")
        if "gateway" in ip:
            ipaddress.ip_address(ip["gateway"])
        idx = ip.get("interface")
        if not isinstance(idx, int) or idx >= len(ifaces) or "sandbox" not in ifaces[idx]:
            say(f"ips[{i}].interface {idx!r} is not the index of the container's interface")
        if version == "0.4.0" and ip.get("version") not in ("4", "6"):
            say(f"ips[{i}] lacks 0.4.0's version")
        if version != "0.4.0" and "version" in ip:
            say(f"ips[{i}] has version, which {version} dropped")
    for i, route in enumerate(r.get("routes", [])):
        try:
            ipaddress.ip_network(route["dst"])
        except (KeyError, ValueError):
            say(f"routes[{i}].dst {route.get('dst')!r} is not a network")
        if "gw" in route:
            ipaddress.ip_address(route["gw"])
    if not isinstance(r.get("dns", {}), dict):
        say("dns is not an object")
    unknown = set(r) - {"cniVersion", "interfaces", "ips", "routes", "dns"}
    if unknown:
        say(f"keys the spec does not give a result: {sorted(unknown)}")
    return out


def main():
    version, ours = sys.argv[1], json.load(open(sys.argv[2]))
    stock_version, stock = sys.argv[3], json.load(open(sys.argv[4]))
    found = problems(stock_version, stock, "stock") + problems(version, ours, "sluice-cni")
    # The same fields where both fill them.
    interface_keys = lambda r: [sorted(i) for i in r.get("interfaces", [])]
    if interface_keys(ours) != interface_keys(stock)[-len(interface_keys(ours)):]:
        found.append(f"interface keys: sluice-cni {interface_keys(ours)}, stock {interface_keys(stock)}")
    ip_keys = lambda r: sorted({k for ip in r.get("ips", []) for k in ip})
    if ip_keys(ours) != ip_keys(stock):
        found.append(f"ips keys: sluice-cni {ip_keys(ours)}, stock {ip_keys(stock)}")
    for f in found:
        print(f)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
