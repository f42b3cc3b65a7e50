#!/usr/bin/env python3
"""reliability_load.py — closed-loop load client for tests/integration/test_reliability.sh.

Unlike bench/bench_load (which only counts answers), it records every request, so the test can
hold each answer against the exchange log:

  reliability_load.py --port-file F --body TEMPLATE --out TSV --stop-file S
                      [--clients 6] [--dni-base 10000000] [--max-seconds 60]

Each client thread keeps one HTTP/1.1 keep-alive connection to 127.0.0.1:<port in F> and posts
TEMPLATE with every @DNI@ replaced by a DNI no other request of this run uses. The port file is
read again on every new connection, so a gateway restarted on another port is followed. The run
ends when S exists (requests in flight finish first) or after --max-seconds.

One TSV line per request, written when it ends:
  dni  t_sent  t_done  status  error  exchange_id  faultcode  has_data  signed  body_sha256
t_* are Unix seconds (wall clock, comparable with PostgreSQL's now()); status is the HTTP status,
or 0 when no answer arrived, and then error says how far the request got:
  connect   no connection (nothing was sent: the gateway cannot have seen it)
  send      the connection broke while sending
  noanswer  sent, but the connection closed or timed out before a complete answer
faultcode is the SOAP faultcode without its prefix; has_data is 1 when the body carries citizen
data (datosPersona); signed is 1 when it carries an XML-DSig SignatureValue.
"""
import argparse
import hashlib
import http.client
import os
import re
import socket
import sys
import threading
import time

FAULTCODE = re.compile(rb"<faultcode>(?:[^<:]*:)?([^<]*)</faultcode>")


class Shared:
    def __init__(self, args, template):
        self.args = args
        self.template = template
        self.lock = threading.Lock()
        self.next_dni = args.dni_base
        self.out = open(args.out, "w", buffering=1)
        self.deadline = time.monotonic() + args.max_seconds

    def take_dni(self):
        with self.lock:
            dni = self.next_dni
            self.next_dni += 1
        return "%08d" % dni

    def record(self, fields):
        line = "\t".join(str(f) for f in fields) + "\n"
        with self.lock:
            self.out.write(line)

    def running(self):
        return not os.path.exists(self.args.stop_file) and time.monotonic() < self.deadline


def gateway_port(port_file):
    try:
        with open(port_file) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def one_request(shared, conn):
    """Sends one request on conn (connecting if needed). Returns (conn, fields); conn is None
    when the connection must not be reused."""
    dni = shared.take_dni()
    body = shared.template.replace(b"@DNI@", dni.encode())
    t_sent = time.time()
    if conn is None:
        port = gateway_port(shared.args.port_file)
        if port is None:
            return None, [dni, t_sent, time.time(), 0, "connect", "", "", 0, 0, ""]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=shared.args.timeout)
        try:
            conn.connect()
        except OSError:
            conn.close()
            return None, [dni, t_sent, time.time(), 0, "connect", "", "", 0, 0, ""]
    stage = "send"
    try:
        conn.request("POST", "/services/ReniecConsultaDni", body=body,
                     headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
        stage = "noanswer"
        resp = conn.getresponse()
        data = resp.read()
        status = resp.status
        exchange_id = resp.getheader("X-Pide-Exchange-Id", "") or ""
        keep = not resp.will_close
    except (OSError, http.client.HTTPException):
        conn.close()
        return None, [dni, t_sent, time.time(), 0, stage, "", "", 0, 0, ""]
    t_done = time.time()
    m = FAULTCODE.search(data)
    fields = [dni, t_sent, t_done, status, "", exchange_id.strip().lower(),
              m.group(1).decode("utf-8", "replace") if m else "",
              1 if b"datosPersona" in data else 0, 1 if b"SignatureValue" in data else 0,
              hashlib.sha256(data).hexdigest()]
    if not keep:
        conn.close()
        conn = None
    return conn, fields


def client_main(shared):
    conn = None
    while shared.running():
        conn, fields = one_request(shared, conn)
        shared.record(["%.6f" % f if isinstance(f, float) else f for f in fields])
        if fields[3] == 0:
            time.sleep(0.02)  # nothing listening: do not spin
    if conn is not None:
        conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--dni-base", type=int, default=10000000)
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    if not 1 <= args.clients <= 64 or not 0 <= args.dni_base <= 99000000:
        sys.exit("reliability_load.py: --clients must be 1..64 and --dni-base 0..99000000")
    with open(args.body, "rb") as f:
        template = f.read()
    if b"@DNI@" not in template:
        sys.exit("reliability_load.py: %s has no @DNI@ to vary" % args.body)
    socket.setdefaulttimeout(args.timeout)
    shared = Shared(args, template)
    threads = [threading.Thread(target=client_main, args=(shared,)) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared.out.close()


if __name__ == "__main__":
    main()
