#!/usr/bin/env python3
"""TCP endpoints for the router tests, which must see NAT from both sides.

  peers.py serve ADDR PORT LOG      (ADDR "any" for all) accept, log "PEER_ADDR PEER_PORT" per
                                    connection, echo what arrives
  peers.py hold ADDR PORT FIRST N RELEASE
                                    open N connections from source ports
                                    FIRST..FIRST+N-1, check each echoes,
                                    print "held N", keep them all open until
                                    the file RELEASE exists (60 s at most)
"""
import asyncio
import os
import resource
import socket
import sys
import time


def more_files():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(addr, port, log_path):
    log = open(log_path, "a", buffering=1)

    async def handle(reader, writer):
        peer = writer.get_extra_info("peername")
        log.write(f"{peer[0]} {peer[1]}\n")
        try:
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    # "any": every address of both families (asyncio makes an IPv6-only
    # socket for "::").
    host = None if addr == "any" else addr
    server = await asyncio.start_server(handle, host, port, backlog=4096)
    async with server:
        await server.serve_forever()


def hold(addr, port, first, count, release):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    held = []
    failures = 0
    for sport in range(first, first + count):
        if failures >= 10:  # broken, not flaky: do not wait out every timeout
            break
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(5)
        try:
            s.bind(("", sport))
            s.connect((addr, port))
            s.sendall(b"x")
            if s.recv(1) != b"x":
                raise OSError("no echo")
        except OSError as e:
            print(f"connection from port {sport} failed: {e}", file=sys.stderr)
            failures += 1
            s.close()
            continue
        held.append(s)
    print(f"held {len(held)}", flush=True)
    deadline = time.time() + 60
    while not os.path.exists(release) and time.time() < deadline:
        time.sleep(0.1)


def main():
    more_files()
    cmd = sys.argv[1]
    if cmd == "serve":
        asyncio.run(serve(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    elif cmd == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
