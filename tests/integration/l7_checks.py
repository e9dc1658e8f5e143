#!/usr/bin/env python3
"""HTTP protocol checks through sluice's L7 proxy, from the client side:

    l7_checks.py CHECK ADDR PORT [SERVER_LOG]

Each check raises (exit status 1, with what went wrong) or prints "ok".
The server behind the proxy is l7_server.py, whose log shows which
requests reached it.
"""
import socket
import sys
import time

CHECK, ADDR, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
SERVER_LOG = sys.argv[4] if len(sys.argv) > 4 else None


def connect():
    return socket.create_connection((ADDR, PORT), timeout=5)


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: api.internal\r\n{extra}\r\n".encode()


def read_response(sock, buf=b""):
    """One response (status, headers, body) and the bytes after it."""
    while b"\r\n\r\n" not in buf:
        part = sock.recv(65536)
        if not part:
            raise AssertionError(f"connection closed before a response: {buf!r}")
        buf += part
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(buf) < length:
        part = sock.recv(65536)
        if not part:
            raise AssertionError("connection closed inside a body")
        buf += part
    return status, headers, buf[:length], buf[length:]


def closed(sock, within=3.0):
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def server_saw(fragment):
    with open(SERVER_LOG) as f:
        return fragment in f.read()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def keepalive():
    s = connect()
    statuses, rest = [], b""
    for path in ["/api/v1/a", "/admin", "/api/v1/b", "/api/v2/c", "/api/v1/d"]:
        s.sendall(get(path))
        status, _, body, rest = read_response(s, rest)
        statuses.append(status)
    expect(statuses == [200, 403, 200, 403, 200], f"statuses on one connection: {statuses}")
    expect(not server_saw("GET /admin"), "the denied request reached the server")


def expect_continue():
    """A denied request that waits for 100 Continue: 403, then the end."""
    s = connect()
    s.sendall(b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
              b"Expect: 100-continue\r\n\r\n")
    status, headers, _, _ = read_response(s)
    expect(status == 403 and headers.get("connection") == "close", f"{status} {headers}")
    expect(closed(s), "the connection stayed open")


def pipelining():
    s = connect()
    s.sendall(get("/api/v1/p1") + get("/admin") + get("/api/v1/p2") + get("/api/v1/p3"))
    rest, got = b"", []
    for _ in range(4):
        status, _, body, rest = read_response(s, rest)
        got.append((status, body.split(b" ")[1].decode() if status == 200 else ""))
    expect(got == [(200, "/api/v1/p1"), (403, ""), (200, "/api/v1/p2"), (200, "/api/v1/p3")],
           f"pipelined answers out of order or wrong: {got}")


def chunked():
    s = connect()
    s.sendall(b"POST /api/v1/upload HTTP/1.1\r\nHost: api.internal\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    status, _, body, _ = read_response(s)
    expect(status == 200 and b"body=11" in body, f"chunked upload: {status} {body!r}")
    # And a response body of the server's own framing, twice on one connection.
    s.sendall(get("/api/v1/after"))
    status, _, body, _ = read_response(s)
    expect(status == 200 and b"/api/v1/after" in body, f"after a chunked body: {status} {body!r}")


def websocket_allowed():
    s = connect()
    s.sendall(get("/api/v1/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"))
    status, headers, _, rest = read_response(s)
    expect(status == 101, f"upgrade answered {status}")
    for message in [b"ping", b"\x81\x05hello", bytes(range(256)) * 40]:
        s.sendall(message)
        got = rest
        while len(got) < len(message):
            got += s.recv(65536)
        rest = b""
        expect(got == message, f"echo through the tunnel: {got[:40]!r}")


def websocket_refused():
    s = connect()
    s.sendall(get("/api/v1/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n"))
    status, _, body, _ = read_response(s)
    expect(status == 403 and b"WebSocket" in body and b"'api'" in body,
           f"refused upgrade: {status} {body!r}")
    expect(not server_saw("GET /api/v1/ws"), "the refused upgrade reached the server")


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: api.internal\r\n\r\n"
SMUGGLING = {
    "CL+TE": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "TE+CL": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
             b"Content-Length: 4\r\n\r\n5c\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "duplicate CL": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                    b"Content-Length: 46\r\n\r\n" + SMUGGLED,
    "invalid CL": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" + SMUGGLED,
    "obs-fold TE": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n"
                   b"\r\n0\r\n\r\n" + SMUGGLED,
    "space before colon": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n"
                          b"Content-Length: 3\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "bare LF": b"GET /api/v1/x HTTP/1.1\nHost: a\n\n" + SMUGGLED,
    "invalid chunk size": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                          b"\r\n-2e\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "chunk size with spaces": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                              b"\r\n 2e\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    "chunked, not last": b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity"
                         b"\r\n\r\n0\r\n\r\n" + SMUGGLED,
}


def smuggling():
    for name, data in SMUGGLING.items():
        s = connect()
        s.sendall(data)
        status, _, body, _ = read_response(s)
        expect(status in (400, 501), f"{name}: answered {status} {body!r}")
        expect(closed(s), f"{name}: the connection stayed open")
    time.sleep(0.3)
    expect(not server_saw("/smuggled"), "a smuggled request reached the server")


def limits():
    cases = [
        ("a 40 KiB header", get("/api/v1/x", "X-Big: " + "b" * 40000 + "\r\n"), 431),
        ("120 headers", get("/api/v1/x", "".join(f"X-{i}: {i}\r\n" for i in range(120))), 431),
        ("a 10 KiB request line", get("/api/v1/" + "a" * 10000), 414),
        ("a body past max_body_bytes",
         b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413),
    ]
    for name, data, want in cases:
        s = connect()
        s.sendall(data)
        status, _, body, _ = read_response(s)
        expect(status == want, f"{name}: answered {status}, not {want}: {body!r}")
    # A chunked body past the limit is stopped as it grows.
    s = connect()
    s.sendall(b"POST /api/v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    try:
        for _ in range(40):
            s.sendall(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, _, _, _ = read_response(s)
    expect(status == 413, f"a chunked body past the limit: {status}")


def slowloris():
    s = connect()
    s.sendall(b"GET /api/v1/slow HTTP/1.1\r\nHost: a\r\n")
    started = time.monotonic()
    s.settimeout(10)
    status, _, body, _ = read_response(s)
    waited = time.monotonic() - started
    expect(status == 408, f"a head that never ends: {status} {body!r}")
    expect(1.5 <= waited <= 5, f"answered after {waited:.1f} s (header_timeout is 2 s)")
    expect(closed(s), "the connection stayed open")


def http2():
    s = connect()
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    s.settimeout(3)
    data = b""
    try:
        while part := s.recv(65536):
            data += part
    except (ConnectionResetError, socket.timeout):
        pass
    # SETTINGS (type 4), then GOAWAY (type 7) with HTTP_1_1_REQUIRED (0xd).
    expect(len(data) > 26 and data[3] == 4, f"first frame: {data[:9]!r}")
    goaway = data[9:]
    expect(goaway[3] == 7 and goaway[13:17] == b"\x00\x00\x00\x0d", f"goaway: {goaway[:17]!r}")
    expect(b"HTTP/2 prior knowledge is refused by rule 'api'" in goaway, f"reason: {goaway!r}")


def connections():
    """10,000 connections, half kept alive for a second request."""
    for i in range(int(sys.argv[4]) if len(sys.argv) > 4 else 10000):
        s = connect()
        s.sendall(get(f"/api/v1/n{i % 7}", "Connection: close\r\n" if i % 2 else ""))
        status, _, _, rest = read_response(s)
        if i % 2 == 0:
            s.sendall(get("/admin", "Connection: close\r\n"))
            status2, _, _, _ = read_response(s, rest)
            expect(status2 == 403, f"connection {i}: second answer {status2}")
        expect(status == 200, f"connection {i}: {status}")
        s.close()


def per_source():
    """max_connections_per_source = 16 (l7_test.sh): 16 kept-alive
    connections from this address are served, the 17th is closed without
    an answer, and once one of the 16 ends a new one is served again."""
    held = []
    for i in range(16):
        s = connect()
        s.sendall(get(f"/api/v1/held{i}"))
        status, _, _, _ = read_response(s)
        expect(status == 200, f"connection {i} of 16: {status}")
        held.append(s)
    extra = connect()
    try:
        extra.sendall(get("/api/v1/extra"))
        expect(closed(extra), "a 17th connection from the same source was not closed")
    except (ConnectionResetError, BrokenPipeError):
        pass
    held.pop().close()
    deadline = time.time() + 2
    while True:  # the proxy notices the closed one at its next read
        s = connect()
        try:
            s.sendall(get("/api/v1/again", "Connection: close\r\n"))
            status, _, _, _ = read_response(s)
            break
        except (AssertionError, ConnectionResetError, BrokenPipeError):
            expect(time.time() < deadline, "no connection served after one of the 16 ended")
            time.sleep(0.05)
    expect(status == 200, f"after one ended: {status}")
    for s in held:
        s.close()


def held():
    """Holds a kept-alive connection; prints "open", then how it ended."""
    s = connect()
    s.sendall(get("/api/v1/held"))
    status, _, _, _ = read_response(s)
    expect(status == 200, f"held connection: {status}")
    print("open", flush=True)
    s.settimeout(30)
    try:
        data = s.recv(100)
        print("closed" if not data else f"data {data!r}", flush=True)
    except ConnectionResetError:
        print("closed", flush=True)
    except socket.timeout:
        print("still open", flush=True)


def status_of(path):
    s = connect()
    s.sendall(get(path, "Connection: close\r\n"))
    status, _, body, _ = read_response(s)
    print(status, body.decode(errors="replace").strip())


CHECKS = {f.__name__: f for f in [keepalive, expect_continue, pipelining, chunked, websocket_allowed,
                                  websocket_refused, smuggling, limits, slowloris, http2,
                                  connections, per_source, held]}
if CHECK == "get":
    status_of(sys.argv[4])
else:
    CHECKS[CHECK]()
    print("ok")
