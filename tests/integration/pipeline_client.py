#!/usr/bin/env python3
"""pipeline_client.py HOST PORT FILE... — sends HTTP/1.1 requests back to back in ONE write on one
connection (HTTP pipelining), then reads until every response has arrived or 10 s pass, and
prints each response's status line. A request file holds the request line and headers only for a
GET, or is a SOAP body POSTed to /services/ReniecConsultaDni."""
import socket
import sys

host, port, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
payload = b""
for name in files:
    if name.startswith("GET "):
        payload += f"{name} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        continue
    body = open(name, "rb").read()
    payload += (f"POST /services/ReniecConsultaDni HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: text/xml; charset=utf-8\r\nSOAPAction: \"\"\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body
s = socket.create_connection((host, port), timeout=10)
s.sendall(payload)
data = b""
statuses = []
try:
    while len(statuses) < len(files):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        # parse complete responses (Content-Length framed)
        while True:
            head_end = data.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = data[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            if len(data) < head_end + 4 + length:
                break
            statuses.append(head.split("\r\n")[0])
            data = data[head_end + 4 + length:]
except socket.timeout:
    pass
for st in statuses:
    print(st)
