#!/usr/bin/env python3
"""stall_clients.py HOST PORT MODE N READY-FILE SECONDS [HEAD-FILE] — opens N connections that
stall: MODE "silent" sends nothing, "hello" half a TLS ClientHello, "body" HEAD-FILE (a request
head announcing more body than is sent) plus 10 bytes of body. Writes READY-FILE once all are
open (each line: "open" or "refused" for a connection the server closed at once), then watches
them for SECONDS and prints one line per connection: the seconds after READY when the server
closed it, or "open"."""
import re
import select
import socket
import ssl
import sys
import time

host, port, mode, n, ready, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
head = open(sys.argv[7], "rb").read() if len(sys.argv) > 7 else b""

hello = b""
if mode == "hello":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = ctx.wrap_bio(inc, out, server_side=False)
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()

socks, states = [], []
for i in range(n):
    s = socket.create_connection((host, port), timeout=5)
    if mode == "hello":
        s.sendall(hello[: len(hello) // 2])
    elif mode == "body":
        s.sendall(head + b"<soapenv:E")
    socks.append(s)
time.sleep(0.3)
for s in socks:  # closed by the server straight away (e.g. over the per-address cap)?
    r, _, _ = select.select([s], [], [], 0)
    state = "open"
    if r:
        try:
            state = "refused" if s.recv(1, socket.MSG_PEEK) == b"" else "open"
        except OSError:
            state = "refused"
    states.append(state)
with open(ready + ".tmp", "w") as f:
    f.write("\n".join(states) + "\n")
import os
os.rename(ready + ".tmp", ready)

t0 = time.monotonic()
closed = [None] * n
answers = [b""] * n
while time.monotonic() - t0 < seconds and None in closed:
    live = [s for i, s in enumerate(socks) if closed[i] is None]
    r, _, _ = select.select(live, [], [], 0.1)
    for s in r:
        i = socks.index(s)
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        answers[i] += data
        if not data:
            closed[i] = time.monotonic() - t0
# Each line: seconds until the server closed (or "open"), then the exchange id it answered with
# (X-Pide-Exchange-Id), or "-".
for c, a in zip(closed, answers):
    m = re.search(rb"(?im)^X-Pide-Exchange-Id: *([0-9a-f-]+)", a)
    print(("open" if c is None else f"{c:.1f}") + " " + (m.group(1).decode() if m else "-"))
