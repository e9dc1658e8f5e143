#!/usr/bin/env python3
"""Checks of sluiced's REST API, run inside the firewall's namespace by
api_test.sh (which starts the lab, the servers and sluiced).

  api_checks.py BASE_URL CONFIG DB OPENAPI LAN_NETNS USER PASSWORD TOKEN

Every response of every documented operation is validated against
docs/openapi.json; every state-changing operation is tried without
authentication, with a wrong CSRF token and with a read-only token; the
flows of real traffic (made in LAN_NETNS) come back with their rule; the
stream delivers a new flow live; config apply/history/rollback and the
audit log; logout; the login rate limit; 1,000 malformed requests.
"""
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import jsonschema

BASE, CONFIG, DB, OPENAPI, LAN, USER, PASSWORD, TOKEN = sys.argv[1:9]
URL = urllib.parse.urlsplit(BASE)
SPEC = json.load(open(OPENAPI))
checks = failures = 0


def check(what, ok, detail=""):
    global checks, failures
    checks += 1
    if ok:
        print(f"ok   - {what}")
    else:
        failures += 1
        print(f"FAIL - {what}")
        if detail:
            print("     | " + str(detail)[:2000].replace("\n", "\n     | "))


class Response:
    def __init__(self, status, headers, body, cookies=()):
        self.status, self.headers, self.body = status, headers, body
        self.cookies = list(cookies)  # every Set-Cookie, in order

    def json(self):
        return json.loads(self.body)


def request(method, path, body=None, headers=None, raw=None, timeout=10):
    """One request on a fresh connection; body is JSON-encoded unless raw."""
    conn = http.client.HTTPConnection(URL.hostname, URL.port, timeout=timeout)
    h = dict(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    out = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read(),
                   [v for k, v in r.getheaders() if k.lower() == "set-cookie"])
    conn.close()
    return out


class Client:
    """A signed-in browser: session cookie plus CSRF token."""

    def __init__(self, user, password):
        r = request("POST", "/api/v1/login", {"user": user, "password": password})
        check(f"{user} signs in", r.status == 200, r.body)
        self.cookie = next((c.split(";")[0] for c in r.cookies if c.startswith("sluice_session=")), "")
        self.csrf = r.json().get("csrf", "") if r.status == 200 else ""
        self.login_response = r

    def headers(self, csrf=True):
        h = {"Cookie": self.cookie}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        return h

    def get(self, path):
        return request("GET", path, headers=self.headers(False))

    def post(self, path, body=None):
        return request("POST", path, body if body is not None else {}, headers=self.headers())


def bearer():
    return {"Authorization": "Bearer " + TOKEN}


def schema_for(path, method, status):
    op = SPEC["paths"][path][method]
    resp = op["responses"].get(str(status))
    if not resp:
        return None
    content = resp["content"]
    media = next(iter(content.values()))
    schema = dict(media["schema"])
    schema["components"] = SPEC["components"]
    return schema


def conforms(path, method, r):
    """The response's status is documented and its body fits the schema."""
    schema = schema_for(path, method, r.status)
    if schema is None:
        return False, f"status {r.status} is not documented for {method.upper()} {path}"
    ctype = r.headers.get("content-type", "")
    if "json" not in ctype:
        return True, ""
    try:
        # $refs (#/components/...) resolve against the copied-in components.
        jsonschema.validate(r.json(), schema)
        return True, ""
    except (ValueError, jsonschema.ValidationError) as e:
        return False, f"{method.upper()} {path} -> {r.status}: {e}"


def lan(*cmd):
    return subprocess.run(["ip", "netns", "exec", LAN, *cmd], capture_output=True, text=True, timeout=15)


def tcp(port):
    return lan("timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/10.10.2.2/{port}").returncode


# --- traffic the flows checks look for ------------------------------------
check("lan reaches the web server (allowed)", tcp(80) == 0)
check("telnet is rejected", tcp(23) != 0)
check("smb is dropped", tcp(445) != 0)
time.sleep(0.5)

# --- authentication -------------------------------------------------------
r = request("GET", "/api/v1/status")
check("no credentials: 401", r.status == 401, r.body)
check("refusals are JSON with a message", r.json().get("ok") is False and "sign in" in r.json().get("error", ""))
check("every answer carries a CSP that forbids inline script",
      "script-src 'self'" in r.headers.get("content-security-policy", "")
      and "unsafe-inline" not in r.headers.get("content-security-policy", ""))

alice = Client(USER, PASSWORD)
for cookie_attrs in alice.login_response.cookies:
    check(f"the cookie {cookie_attrs.split('=')[0]} is HttpOnly and SameSite=Strict",
          "HttpOnly" in cookie_attrs and "SameSite=Strict" in cookie_attrs, cookie_attrs)
check("a sign-in sets the session and the trusted-device cookie",
      sorted(c.split("=")[0] for c in alice.login_response.cookies) == ["sluice_device", "sluice_session"],
      alice.login_response.cookies)
check("a wrong password is refused", request("POST", "/api/v1/login", {"user": USER, "password": "nope-nope"}).status == 401)
r = request("GET", "/api/v1/status", headers=bearer())
check("a read-only token reads", r.status == 200, r.body)
check("an unknown token is refused", request("GET", "/api/v1/status", headers={"Authorization": "Bearer slt_00"}).status == 401)

con = sqlite3.connect(DB)
hashes = [h for (h,) in con.execute("SELECT password_hash FROM users")]
con.close()
check("password hashes are argon2id", hashes and all(h.startswith("$argon2id$") for h in hashes), hashes)

# --- every documented operation answers as documented ----------------------
reads = {
    "/api/v1/session": "/api/v1/session",
    "/api/v1/status": "/api/v1/status",
    "/api/v1/version": "/api/v1/version",
    "/api/v1/interfaces": "/api/v1/interfaces",
    "/api/v1/endpoints": "/api/v1/endpoints",
    "/api/v1/rules": "/api/v1/rules",
    "/api/v1/counters": "/api/v1/counters",
    "/api/v1/config": "/api/v1/config",
    "/api/v1/config/history": "/api/v1/config/history?limit=5",
    "/api/v1/config/history/{id}": "/api/v1/config/history/1",
    "/api/v1/audit": "/api/v1/audit?limit=10",
    "/api/v1/conntrack": "/api/v1/conntrack?limit=10",
    "/api/v1/flows": "/api/v1/flows?limit=100",
    "/metrics": "/metrics",
}
for doc_path, url in reads.items():
    r = alice.get(url)
    ok, why = conforms(doc_path, "get", r)
    check(f"GET {url}: {r.status}, as documented", r.status == 200 and ok, why or r.body[:300])
documented_gets = {p for p, ops in SPEC["paths"].items() if "get" in ops}
check("every documented GET was exercised", documented_gets - {"/api/v1/flows/stream"} == set(reads),
      documented_gets ^ set(reads))

r = alice.get("/api/v1/config/history/999999")
check("an unknown version: 404, as documented", r.status == 404 and conforms("/api/v1/config/history/{id}", "get", r)[0], r.body)
r = alice.get("/api/v1/flows?port=99999")
check("a bad filter: 400 naming the term", r.status == 400 and "port" in r.json()["error"], r.body)
r = alice.get("/api/v1/flows/stream?colour=red")
check("the live stream refuses an unknown parameter, naming it", r.status == 400 and "colour" in r.json()["error"], r.body)
r = alice.get("/api/v1/flows/stream?port=99999")
check("the live stream refuses a bad filter, naming the term", r.status == 400 and "port" in r.json()["error"], r.body)

# --- flows of the real traffic ------------------------------------------------
flows = alice.get("/api/v1/flows?limit=1000&address=10.10.2.2").json()["flows"]


def has(verdict, rule, dport):
    return any(f["verdict"] == verdict and f["rule"] == rule and f["dport"] == dport and f["src"] == "10.10.1.10"
               for f in flows)


check("the API shows the web flow allowed by 'web'", has("allowed", "web", 80), flows)
check("the API shows the telnet flow rejected by 'no-telnet'", has("rejected", "no-telnet", 23), flows)
check("the API shows the smb flow dropped by 'no-smb'", has("dropped", "no-smb", 445), flows)
r = request("GET", "/api/v1/flows?verdict=dropped&rule=no-smb", headers=bearer())
check("a token queries flows with filters",
      r.status == 200 and r.json()["flows"] and all(f["rule"] == "no-smb" for f in r.json()["flows"]), r.body[:500])

# --- the live stream -------------------------------------------------------------
received = []
stream_ready = threading.Event()


def follow():
    sock = socket.create_connection((URL.hostname, URL.port), timeout=10)
    sock.sendall(b"GET /api/v1/flows/stream?port=8081 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                 + TOKEN.encode() + b"\r\n\r\n")
    buf = b""
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        if b": sluice flows" in buf:
            stream_ready.set()
        for line in buf.split(b"\n"):
            if line.startswith(b"data: "):
                try:
                    received.append((time.time(), json.loads(line[6:])))
                except ValueError:
                    pass  # a line cut in the middle of a chunk; it comes whole next time
        if received:
            break
    sock.close()


t = threading.Thread(target=follow)
t.start()
check("the stream starts", stream_ready.wait(5))
sent = time.time()
check("allowed: 8081", tcp(8081) == 0)
t.join(12)
check("the stream delivers the new flow", received and received[0][1]["dport"] == 8081, received)
if received:
    delay = received[0][0] - sent
    print(f"     the stream delivered the flow {delay * 1000:.0f} ms after the connection started")
    check("... within a second", delay < 1.0, delay)
r = request("GET", "/api/v1/flows/stream?colour=red", headers=bearer())
check("a stream with an unknown filter: 400", r.status == 400, r.body)

# --- every state change refuses without a session, with a bad CSRF token, with a token
changes = [p for p, ops in SPEC["paths"].items() if "post" in ops and p != "/api/v1/login"]
for path in changes:
    body = {"text": "[chains]\n"} if path.endswith(("validate", "diff")) else {}
    r0 = request("POST", path, body)
    r1 = request("POST", path, body, headers={"Cookie": alice.cookie, "X-CSRF-Token": "0" * 64})
    r1b = request("POST", path, body, headers={"Cookie": alice.cookie})
    r2 = request("POST", path, body, headers=bearer())
    state_changing = not path.endswith(("validate", "diff"))
    check(f"POST {path}: 401 without auth", r0.status == 401, r0.body)
    if state_changing:
        check(f"POST {path}: 403 with a wrong CSRF token", r1.status == 403, r1.body)
        check(f"POST {path}: 403 without a CSRF token", r1b.status == 403, r1b.body)
        check(f"POST {path}: 403 with a read-only token", r2.status == 403, r2.body)
    for r in (r0, r1, r2):
        ok, why = conforms(path, "post", r)
        if not ok:
            check(f"POST {path}: refusals as documented", ok, why)

# --- config text names files: none is read outside the config directory, none quoted
secret_dir = tempfile.mkdtemp(prefix="sluice-secret-")
secret = os.path.join(secret_dir, "shadow")
with open(secret, "w") as f:
    f.write("root:not-for-api-eyes-1:19000\ndaemon:not-for-api-eyes-2:19000\n")
os.chmod(secret, 0o600)
fifo = os.path.join(os.path.dirname(CONFIG), "list.fifo")
os.mkfifo(fifo)
for what, text in (("a root-only file", f'[sets.x]\nfile = "{secret}"\n'),
                   ("/etc/shadow", '[sets.x]\nfile = "/etc/shadow"\n'),
                   ("a relative path out", '[sets.x]\nfile = "../../../../../../etc/shadow"\n')):
    for endpoint in ("/api/v1/config/validate", "/api/v1/config/diff"):
        r = request("POST", endpoint, {"text": text}, headers=bearer())
        check(f"{endpoint} with a token naming {what}: refused, nothing quoted",
              r.status == 422 and "outside the directories" in r.body.decode() and "not-for-api-eyes" not in r.body.decode()
              and "root:" not in r.body.decode(), r.body.decode())
started = time.time()
r = request("POST", "/api/v1/config/validate", {"text": '[sets.x]\nfile = "list.fifo"\n'}, headers=bearer())
check("a FIFO in the config directory is refused at once", r.status == 422 and "not a regular file" in r.body.decode()
      and time.time() - started < 2, r.body.decode())
for endpoint in ("/api/v1/config/validate", "/api/v1/config/diff"):
    r = request("POST", endpoint, {"path": secret}, headers=bearer())
    check(f"{endpoint} with a path: 403 (the control socket only)", r.status == 403 and "not-for-api-eyes" not in r.body.decode(),
          r.body.decode())
    r = alice.post(endpoint, {"path": "/dev/zero"})
    check(f"{endpoint} with a path, signed in: 403 too", r.status == 403, r.body.decode())
check("the API still answers", alice.get("/api/v1/status").status == 200)
os.unlink(fifo)
shutil.rmtree(secret_dir)

# --- config through the API --------------------------------------------------------
current = alice.get("/api/v1/config").json()["text"]
broken = current.replace('name = "no-smb"', 'name = "no-smb"\nprot = "tcp"')
r = alice.post("/api/v1/config/validate", {"text": broken})
diag = r.json().get("diagnostics", [{}])[0] if r.status == 422 else {}
typo_line = broken.split("\n").index('prot = "tcp"') + 1
check("validate: a typo is an error at its line and column",
      r.status == 422 and diag.get("line") == typo_line and diag.get("column") == 1 and "prot" in diag.get("key", ""),
      r.body)
check("validate: as documented", conforms("/api/v1/config/validate", "post", r)[0])
r = alice.post("/api/v1/config/apply", {"text": broken})
check("apply of a broken config: 422, nothing applied", r.status == 422, r.body)
check("... and the file is untouched", open(CONFIG).read() == current)

blocking = current.replace('port = [80, 8081]', 'port = [8081]').replace(
    '[[rule]]\nname = "no-telnet"', '[[rule]]\nname = "no-web"\nchain = "forward"\nproto = "tcp"\nport = 80\naction = "drop"\n\n[[rule]]\nname = "no-telnet"')
r = alice.post("/api/v1/config/diff", {"text": blocking})
check("diff: names the added rule", r.status == 200 and any(c["what"].find("no-web") >= 0 for c in r.json()["changes"]), r.body)
r = alice.post("/api/v1/config/apply", {"text": blocking})
check("apply: ok with a version", r.status == 200 and r.json().get("version", 0) > 0, r.body)
check("apply: as documented", conforms("/api/v1/config/apply", "post", r)[0], conforms("/api/v1/config/apply", "post", r)[1])
check("apply: the config file now holds the new text", open(CONFIG).read() == blocking)
check("the web is now dropped", tcp(80) != 0)
time.sleep(0.3)
r = alice.get("/api/v1/flows?rule=no-web&verdict=dropped")
check("... and shows up dropped by 'no-web'", r.status == 200 and r.json()["flows"], r.body[:300])
history = alice.get("/api/v1/config/history").json()["versions"]
check("the history names who applied it", history and history[0]["author"].startswith(f"user {USER} from "), history[:2])
version = alice.get(f"/api/v1/config/history/{history[0]['id']}").json()["version"]
check("a version keeps its text and diff", version["text"] == blocking and "no-web" in version["diff"], version)
r = alice.post("/api/v1/config/rollback")
check("rollback", r.status == 200, r.body)
check("the web is allowed again", tcp(80) == 0)
check("... and the config file holds the live text again", open(CONFIG).read() == current)
r = alice.post("/api/v1/config/confirm")
check("confirm with nothing waiting: 409", r.status == 409, r.body)
r = alice.post("/api/v1/config/apply", {"text": current, "confirm_within_seconds": 60})
check("apply with a confirm deadline", r.status == 200 and r.json().get("confirm_within_seconds") == 60, r.body)
check("status shows the deadline", "confirm_within_seconds" in alice.get("/api/v1/status").json())
check("confirm", alice.post("/api/v1/config/confirm").status == 200)
audit = alice.get("/api/v1/audit?limit=50").json()["entries"]
whats = [e["what"] for e in audit if e["who"].startswith(f"user {USER}")]
check("the audit log has each change with who did it",
      all(w in " ".join(whats) for w in ("apply", "rollback", "confirm", "sign in")), audit[:10])

# --- logout ends the session on the server ----------------------------------------
bob = Client(USER, PASSWORD)
old_cookie = bob.cookie
check("logout", bob.post("/api/v1/logout").status == 200)
r = request("GET", "/api/v1/status", headers={"Cookie": old_cookie})
check("the old session cookie no longer works", r.status == 401, r.body)

# --- 1,000 malformed requests: each a 4xx, the server keeps serving ------------------
bad = []
for i in range(1000):
    kind = i % 10
    if kind == 0:
        bad.append(("POST", "/api/v1/config/validate", b'{"text": ', alice.headers()))
    elif kind == 1:
        bad.append(("POST", "/api/v1/config/validate", b'{"text": "\xff\xfe"}', alice.headers()))
    elif kind == 2:
        bad.append(("POST", "/api/v1/config/diff", b"[" * 5000 + b"]" * 5000, alice.headers()))
    elif kind == 3:
        bad.append(("GET", "/../../../../etc/passwd", None, {}))
    elif kind == 4:
        bad.append(("GET", "/%2e%2e/%2e%2e/etc/passwd", None, {}))
    elif kind == 5:
        bad.append(("GET", f"/api/v1/flows?since=%ff%fe{i}", None, alice.headers(False)))
    elif kind == 6:
        bad.append(("GET", f"/api/v1/flows?limit=-{i}", None, alice.headers(False)))
    elif kind == 7:
        bad.append(("POST", "/api/v1/login", b'{"user": 7, "password": []}', {}))
    elif kind == 8:
        bad.append(("GET", f"/api/v1/no-such-thing/{i}", None, alice.headers(False)))
    else:
        bad.append(("POST", "/api/v1/config/apply", b'"just a string"', alice.headers()))
huge = b'{"text": "' + b"x" * (20 << 20) + b'"}'
statuses = {}
for method, path, body, headers in bad:
    try:
        r = request(method, path, raw=body, headers=headers)
        statuses.setdefault(r.status, []).append(path)
    except (OSError, http.client.HTTPException) as e:
        statuses.setdefault(str(e), []).append(path)
try:
    r = request("POST", "/api/v1/config/validate", raw=huge, headers=alice.headers())
    huge_status = r.status
except (OSError, http.client.HTTPException) as e:
    huge_status = str(e)
check("1,000 malformed requests: every answer a 4xx",
      all(isinstance(s, int) and 400 <= s < 500 for s in statuses), {k: len(v) for k, v in statuses.items()})
check("a 20 MB body: 413", huge_status == 413, huge_status)
check("path traversal never reaches /etc/passwd",
      all(b"root:" not in request("GET", p).body for p in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                                             "/..%2f..%2fetc%2fpasswd")))
check("the API still answers afterwards", alice.get("/api/v1/status").status == 200)

# --- the login rate limit (last: it locks this address out for a minute) -------------
codes = [request("POST", "/api/v1/login", {"user": "mallory", "password": f"guess{i}"}).status for i in range(7)]
check("after 5 failed sign-ins the address is refused (429)", codes[:5] == [401] * 5 and codes[5:] == [429, 429], codes)
r = request("POST", "/api/v1/login", {"user": USER, "password": PASSWORD})
check("... even with the right password, until the window passes", r.status == 429 and "retry-after" in r.headers, r.status)

print(f"{checks - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
