#!/usr/bin/env python3
"""What runs in each pod of the NetworkPolicy conformance suite.

  probe_agent.py serve
      TCP and UDP servers on ports 80 and 81 (every address): TCP sends
      "ok" and closes, UDP answers each datagram with "ok".
  probe_agent.py probe TIMEOUT '[["10.42.0.3", 80, "TCP"], ...]'
      tries each target at once, prints a JSON list of true (answered)
      and false (no answer within TIMEOUT seconds).
"""
import asyncio
import json
import socket
import sys
import threading

PORTS = (80, 81)


def serve():
    def tcp(port):
        srv = socket.create_server(("0.0.0.0", port), backlog=256)
        while True:
            conn, _ = srv.accept()
            try:
                conn.sendall(b"ok")
            finally:
                conn.close()

    def udp(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        while True:
            _, peer = s.recvfrom(64)
            s.sendto(b"ok", peer)

    threads = [threading.Thread(target=f, args=(p,), daemon=True) for p in PORTS for f in (tcp, udp)]
    for t in threads:
        t.start()
    print("serving", flush=True)
    for t in threads:
        t.join()


async def tcp_probe(ip, port, timeout):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
        data = await asyncio.wait_for(reader.read(2), timeout)
        writer.close()
        return data == b"ok"
    except (OSError, asyncio.TimeoutError):
        return False


async def udp_probe(ip, port, timeout):
    loop = asyncio.get_running_loop()
    answered = loop.create_future()

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            if data == b"ok" and not answered.done():
                answered.set_result(True)

    transport, _ = await loop.create_datagram_endpoint(Proto, remote_addr=(ip, port))
    try:
        for _ in range(3):  # a lost datagram is not a denial
            transport.sendto(b"ping")
            try:
                return await asyncio.wait_for(asyncio.shield(answered), timeout / 3)
            except asyncio.TimeoutError:
                continue
        return False
    finally:
        transport.close()


async def probe(timeout, targets):
    calls = [(tcp_probe if proto == "TCP" else udp_probe)(ip, port, timeout)
             for ip, port, proto in targets]
    return await asyncio.gather(*calls)


def main():
    if sys.argv[1] == "serve":
        serve()
    else:
        print(json.dumps(asyncio.run(probe(float(sys.argv[2]), json.loads(sys.argv[3])))))


if __name__ == "__main__":
    main()
