#!/usr/bin/env python3
"""A Kubernetes API server as far as sluiced uses one: list and watch of
namespaces, pods, nodes and network policies over HTTPS with a bearer
token, in the API's documented formats (a List with
metadata.resourceVersion; a watch as one JSON event per line, ADDED,
MODIFIED, DELETED, and BOOKMARK at the end of each timeout).

What the cluster holds is a JSON file the test rewrites (atomically):
{"namespaces": [...], "pods": [...], "nodes": [...], "networkpolicies":
[...]}. The server reads it again whenever it changes and turns the
difference into events, each with the next resourceVersion, so several
sluiced (nodes) watching it see the same history.

  replay_server.py [--address A] --port P --cert C --key K --token T --state FILE
"""
import argparse
import copy
import json
import os
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

COLLECTIONS = {
    "/api/v1/namespaces": ("namespaces", "NamespaceList"),
    "/api/v1/pods": ("pods", "PodList"),
    "/api/v1/nodes": ("nodes", "NodeList"),
    "/apis/networking.k8s.io/v1/networkpolicies": ("networkpolicies", "NetworkPolicyList"),
}


def key_of(obj):
    m = obj.get("metadata", {})
    return m.get("namespace", "") + "/" + m["name"]


class Cluster:
    def __init__(self, state_file):
        self.state_file = state_file
        self.cond = threading.Condition()
        self.version = 100
        self.objects = {kind: {} for kind, _ in COLLECTIONS.values()}
        self.events = []  # (version, kind, type, object)
        self.mtime = None
        self.reload()

    def reload(self):
        try:
            mtime = os.stat(self.state_file).st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self.mtime:
            return
        self.mtime = mtime
        with open(self.state_file) as f:
            state = json.load(f)
        with self.cond:
            for kind in self.objects:
                new = {key_of(o): o for o in state.get(kind, [])}
                old = self.objects[kind]
                for key in sorted(old.keys() - new.keys()):
                    self.emit(kind, "DELETED", old.pop(key))
                for key in sorted(new):
                    body = copy.deepcopy(new[key])
                    prev = old.get(key)
                    if prev is not None and self.same(prev, body):
                        continue
                    self.emit(kind, "MODIFIED" if prev is not None else "ADDED", body)
            self.cond.notify_all()

    @staticmethod
    def same(a, b):
        a = copy.deepcopy(a)
        a["metadata"].pop("resourceVersion", None)
        return a == b

    def emit(self, kind, type_, obj):
        self.version += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        self.events.append((self.version, kind, type_, obj))
        if type_ != "DELETED":
            self.objects[kind][key_of(obj)] = obj

    def poll(self, stop):
        while not stop.is_set():
            try:
                self.reload()
            except (OSError, ValueError) as e:  # a half-written file: next time
                print("replay: state not read:", e, flush=True)
            time.sleep(0.01)


def handler(cluster, token):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def status(self, code, reason):
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "code": code, "reason": reason}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.headers.get("Authorization") != "Bearer " + token:
                return self.status(401, "Unauthorized")
            url = urlparse(self.path)
            if url.path not in COLLECTIONS:
                return self.status(404, "NotFound")
            kind, list_kind = COLLECTIONS[url.path]
            q = parse_qs(url.query)
            if q.get("watch") == ["1"]:
                return self.watch(kind, int(q.get("resourceVersion", ["0"])[0]),
                                  int(q.get("timeoutSeconds", ["300"])[0]))
            with cluster.cond:
                body = json.dumps({"kind": list_kind, "apiVersion": "v1",
                                   "metadata": {"resourceVersion": str(cluster.version)},
                                   "items": list(cluster.objects[kind].values())}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def chunk(self, data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def watch(self, kind, since, timeout):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            deadline = time.monotonic() + timeout
            try:
                while time.monotonic() < deadline:
                    with cluster.cond:
                        news = [e for e in cluster.events if e[0] > since and e[1] == kind]
                        if not news:
                            cluster.cond.wait(0.5)
                            continue
                    for version, _, type_, obj in news:
                        self.chunk(json.dumps({"type": type_, "object": obj}).encode() + b"\n")
                        since = version
                bookmark = {"kind": "Pod", "apiVersion": "v1",
                            "metadata": {"resourceVersion": str(cluster.version)}}
                self.chunk(json.dumps({"type": "BOOKMARK", "object": bookmark}).encode() + b"\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--state", required=True)
    args = ap.parse_args()
    cluster = Cluster(args.state)
    stop = threading.Event()
    threading.Thread(target=cluster.poll, args=(stop,), daemon=True).start()
    server = ThreadingHTTPServer((args.address, args.port), handler(cluster, args.token))
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("replay: serving on %s:%d" % (args.address, args.port), flush=True)
    try:
        server.serve_forever()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
