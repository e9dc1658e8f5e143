#!/usr/bin/env python3
"""The server behind the L7 proxy in the tests: answers every request with
what it received (method, path, body length, client), logs each request
line to LOG (so a test can tell which requests got through), echoes bytes
after a WebSocket upgrade, and speaks TLS when given a certificate.

    l7_server.py ADDR PORT LOG [CERT KEY]
"""
import http.server
import socket
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A response in one write, as real servers send it (written in parts,
    # Nagle's algorithm would hold the last part back for an ACK).
    wbufsize = 65536

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def answer(self):
        data = self.body()
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path}\n")
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.flush()
            while chunk := self.connection.recv(4096):
                self.connection.sendall(chunk)
            self.close_connection = True
            return
        out = f"{self.command} {self.path} body={len(data)} from {self.client_address[0]}\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out.encode())

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = answer

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
    daemon_threads = True

    def finish_request(self, request, client_address):
        # TLS: the handshake in the request's thread, not in accept() on
        # the serving one, where a client that connects and says nothing
        # (a readiness probe) would hold up every other.
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except OSError:
                return
        super().finish_request(request, client_address)


LOG = sys.argv[3]
server = Server((sys.argv[1], int(sys.argv[2])), Handler)
if len(sys.argv) > 5:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
server.serve_forever()
