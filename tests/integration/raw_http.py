#!/usr/bin/env python3
"""raw_http.py HOST PORT OUT [--tls CERT KEY CA] [--pause SECONDS] PART... — speaks HTTP/1.1 with
raw bytes, so malformed framing reaches the gateway exactly as written. Each PART is a file of
bytes sent as is (with --pause SECONDS between parts). Then reads every response until the
server closes or 3 s of silence, writes each response's body to OUT.<n> and its headers to
OUT.<n>.headers, and prints one line per response, "STATUS EXCHANGE-ID" ("-" when none), and a
last line "closed" (the server closed the connection) or "open". A reset before any response
prints "reset"."""
import socket
import ssl
import sys
import time

args = sys.argv[1:]
host, port, out = args[0], int(args[1]), args[2]
args = args[3:]
tls = None
pause = 0.0
while args and args[0].startswith("--"):
    if args[0] == "--tls":
        tls, args = args[1:4], args[4:]
    elif args[0] == "--pause":
        pause, args = float(args[1]), args[2:]
parts = [open(p, "rb").read() for p in args]

s = socket.create_connection((host, port), timeout=30)
if tls:
    ctx = ssl.create_default_context(cafile=tls[2])
    ctx.load_cert_chain(tls[0], tls[1])
    ctx.check_hostname = False
    s = ctx.wrap_socket(s)
try:
    for i, p in enumerate(parts):
        if i and pause:
            time.sleep(pause)
        s.sendall(p)
except (BrokenPipeError, ConnectionResetError):
    pass

s.settimeout(3)
data = b""
closed = False
reset = False
while True:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    except (ConnectionResetError, ssl.SSLError):
        reset = True
        closed = True
        break
    if not chunk:
        closed = True
        break
    data += chunk

n = 0
while data:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        break
    head = data[:end].decode("latin-1")
    rest = data[end + 4:]
    lines = head.split("\r\n")
    status = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "?"
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", len(rest)))
    body, data = rest[:length], rest[length:]
    n += 1
    open(f"{out}.{n}", "wb").write(body)
    open(f"{out}.{n}.headers", "w").write(head + "\r\n")
    print(status, headers.get("x-pide-exchange-id", "-"))
if n == 0 and reset:
    print("reset")
print("closed" if closed else "open")
