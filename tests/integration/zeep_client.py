#!/usr/bin/env python3
"""zeep_client.py — an independent, non-C SOAP toolkit (python3-zeep) against pide-gateway.

For every WSDL in --wsdl-dir: loads it as a consumer would, from the running gateway
(GET <gateway>/services/<service>?wsdl), and checks that zeep finds every operation of the
WSDL's portType in a SOAP binding. With --call-reniec it then calls ReniecConsultaDni/consultar
through the gateway and checks the answer as zeep parsed it.

zeep never touches the network beyond the loopback gateway: a transport refuses any other URL.
The WSDLs import their XSDs by relative schemaLocation (../schemas/x.xsd), which resolves to
<gateway>/schemas/x.xsd: the gateway must serve it, or a consumer fetching ?wsdl could not
resolve the imports by itself — that is a failure (the file is then read from --schemas-dir so
the remaining checks still run).
A service the running gateway does not expose (?wsdl answers 404) is loaded from the file.

Prints one "ok: ..." or "FAIL: ..." line per check; exit status 1 when any check failed.
"""
import argparse
import os
import sys
import urllib.parse
import xml.etree.ElementTree as ET

import requests
import zeep
import zeep.transports

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP11_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap/"

failures = 0
reported = set()


def ok(msg):
    print(f"ok: {msg}", flush=True)


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL: {msg}", flush=True)


def fail_once(msg):
    if msg not in reported:
        reported.add(msg)
        fail(msg)


class LoopbackTransport(zeep.transports.Transport):
    """Fetches only from the gateway; schemas it does not serve come from --schemas-dir."""

    def __init__(self, gateway, schemas_dir, wsdl_dir):
        super().__init__(timeout=10, operation_timeout=10)
        self.gateway = urllib.parse.urlsplit(gateway)
        self.dirs = {"schemas": os.path.realpath(schemas_dir),
                     "wsdl": os.path.realpath(wsdl_dir)}

    def _local_file(self, path):
        """/schemas/x.xsd or a path inside the allowed folders -> bytes, else None."""
        real = os.path.realpath(path)
        for d in self.dirs.values():
            if real.startswith(d + os.sep) and os.path.isfile(real):
                with open(real, "rb") as f:
                    return f.read()
        return None

    def _check_url(self, url):
        u = urllib.parse.urlsplit(url)
        if u.scheme in ("http", "https") and u.netloc != self.gateway.netloc:
            raise RuntimeError(f"refusing a network fetch outside the gateway: {url}")
        return u

    def load(self, url):
        u = urllib.parse.urlsplit(url)
        if u.scheme in ("", "file"):
            data = self._local_file(u.path)
            if data is None:
                raise RuntimeError(f"refusing to read {url}: not in the wsdl or schemas folders")
            return data
        self._check_url(url)
        response = self.session.get(url, timeout=self.load_timeout)
        if response.status_code == 200:
            return response.content
        name = os.path.basename(u.path)
        parent = os.path.basename(os.path.dirname(u.path))
        if response.status_code == 404 and parent == "schemas":
            data = self._local_file(os.path.join(self.dirs["schemas"], name))
            if data is not None:
                fail_once(f"the gateway does not serve {u.path} (HTTP 404), which the WSDLs "
                          f"import: a consumer fetching ?wsdl cannot resolve it")
                return data
        raise RuntimeError(f"GET {url}: HTTP {response.status_code}")

    def post(self, address, message, headers):
        self._check_url(address)
        return super().post(address, message, headers)


def portType_operations(path):
    """{service name, operation names of the portType(s)} from the WSDL file itself."""
    root = ET.parse(path).getroot()
    service = root.find(f"{{{WSDL_NS}}}service")
    ops = {op.get("name")
           for pt in root.findall(f"{{{WSDL_NS}}}portType")
           for op in pt.findall(f"{{{WSDL_NS}}}operation")}
    return (service.get("name") if service is not None else None), ops


def load_client(args, transport, wsdl_path, service):
    """A zeep client for the service, from the gateway when it exposes it, else from the file."""
    url = f"{args.gateway}/services/{service}?wsdl"
    probe = requests.get(url, timeout=10)
    if probe.status_code == 200:
        return zeep.Client(url, transport=transport), "served by the gateway"
    if probe.status_code != 404:
        raise RuntimeError(f"GET {url}: HTTP {probe.status_code}")
    return zeep.Client(wsdl_path, transport=transport), "from wsdl/: this gateway does not expose it"


def check_wsdl(args, transport, wsdl_path):
    name = os.path.basename(wsdl_path)
    service, expected = portType_operations(wsdl_path)
    if not service or not expected:
        fail(f"{name}: no wsdl:service or no portType operation")
        return None
    try:
        client, origin = load_client(args, transport, wsdl_path, service)
    except Exception as e:  # zeep raises many kinds; each is a failure to import the WSDL
        fail(f"{name}: zeep cannot load it: {e}")
        return None
    found = set()
    for svc in client.wsdl.services.values():
        for port in svc.ports.values():
            if port.binding and isinstance(port.binding, zeep.wsdl.bindings.Soap11Binding):
                found.update(port.binding._operations.keys())
    missing = expected - found
    if missing:
        fail(f"{name}: zeep found no SOAP 1.1 binding for {', '.join(sorted(missing))}")
    else:
        ok(f"{name}: zeep loads it ({origin}); operations {', '.join(sorted(found))}")
    # Every WSDL also binds its operations over SOAP 1.2 and declares the pide-gateway header
    # elements as soap:header parts in both bindings (docs/soap-versions.md).
    found12 = set()
    headers = {}
    for svc in client.wsdl.services.values():
        for port in svc.ports.values():
            b = port.binding
            if not b:
                continue
            version = "1.2" if isinstance(b, zeep.wsdl.bindings.Soap12Binding) else "1.1"
            if version == "1.2":
                found12.update(b._operations.keys())
            for op in b._operations.values():
                hdr = op.input.header
                names = {n for n, _ in hdr.type.elements} if hdr and hdr.type else set()
                headers[(version, op.name)] = names
    missing12 = expected - found12
    if missing12:
        fail(f"{name}: zeep found no SOAP 1.2 binding for {', '.join(sorted(missing12))}")
    else:
        ok(f"{name}: SOAP 1.2 binding for {', '.join(sorted(found12))}")
    want = {"client", "service", "id", "userId", "purpose", "protocolVersion"}
    bad = [f"{v} {o}" for (v, o), got in headers.items() if not want <= got]
    if bad or not headers:
        fail(f"{name}: declared pide-gateway headers missing in {', '.join(sorted(bad))}")
    else:
        ok(f"{name}: pide-gateway headers declared in both bindings")
    return client


def unwrap(result):
    """With soap:header parts declared in the output, zeep returns {body, header} and leaves the
    wrapper element in body: its only child is what zeep returns without declared headers."""
    body = getattr(result, "body", None) if not isinstance(result, dict) else result.get("body")
    if body is None:
        return result
    try:
        values = list(body.__values__.values()) if hasattr(body, "__values__") else list(body.values())
    except Exception:
        return body
    return values[0] if len(values) == 1 else body


def call_reniec(args, client):
    binding = "{http://ws.pide-gateway.org/reniec/}ReniecConsultaDniBinding"
    proxy = client.create_service(binding, f"{args.gateway}/services/ReniecConsultaDni")
    try:
        result = proxy.consultar(arg0={
            "nuDniConsulta": "45678912", "nuDniUsuario": "11111111",
            "nuRucUsuario": "20000000001", "password": args.password})
    except Exception as e:
        fail(f"ReniecConsultaDni.consultar through zeep: {e}")
        return
    ok("ReniecConsultaDni.consultar: zeep sent the request and parsed the answer")
    result = unwrap(result)
    got = {
        "coResultado": result.coResultado,
        "prenombres": result.datosPersona.prenombres if result.datosPersona else None,
        "apPrimer": result.datosPersona.apPrimer if result.datosPersona else None,
        "apSegundo": result.datosPersona.apSegundo if result.datosPersona else None,
    }
    want = {"coResultado": "0000", "prenombres": "SUSANA DIANA", "apPrimer": "MORALES",
            "apSegundo": "ESPINOZA"}
    for k, v in want.items():
        if got[k] == v:
            ok(f"ReniecConsultaDni.consultar: {k} = {v!r} as parsed by zeep")
        else:
            fail(f"ReniecConsultaDni.consultar: {k}: expected {v!r}, zeep parsed {got[k]!r}")
    foto = result.datosPersona.foto if result.datosPersona else None
    # xsd:base64Binary: zeep hands back the decoded bytes, a JPEG.
    if isinstance(foto, bytes) and foto[:3] == b"\xff\xd8\xff":
        ok("ReniecConsultaDni.consultar: foto decoded by zeep as a JPEG")
    else:
        fail("ReniecConsultaDni.consultar: foto is not a base64 JPEG as parsed by zeep")


def call_with_headers(args, client):
    """consultar through each binding, identity and purpose given as the WSDL's declared
    headers (no hand-written XML); prints the exchange id of each answer for the log check."""
    for version, binding in (("1.1", "ReniecConsultaDniBinding"),
                             ("1.2", "ReniecConsultaDniSoap12Binding")):
        proxy = client.create_service("{http://ws.pide-gateway.org/reniec/}" + binding,
                                      f"{args.gateway}/services/ReniecConsultaDni")
        purpose = f"{args.purpose} (SOAP {version})"
        try:
            result = proxy.consultar(
                arg0={"nuDniConsulta": "45678912", "nuDniUsuario": "11111111",
                      "nuRucUsuario": "20000000001", "password": args.password},
                _soapheaders={"purpose": purpose, "userId": "11111111",
                              "id": f"zeep-{version}-{os.getpid()}"})
        except Exception as e:
            fail(f"SOAP {version} consultar with declared headers through zeep: {e}")
            continue
        header = getattr(result, "header", None)
        code = getattr(unwrap(result), "coResultado", None)
        if code == "0000":
            ok(f"SOAP {version}: consultar with declared headers: coResultado 0000")
        else:
            fail(f"SOAP {version}: consultar with declared headers: coResultado {code!r}")
        xid = header["exchangeId"] if header is not None and "exchangeId" in header else None
        # pgw:Text is simple content with attributes: zeep keeps the text in _value_1.
        xid = getattr(xid, "_value_1", xid)
        if xid:
            ok(f"SOAP {version}: response header exchangeId parsed by zeep")
            print(f"exchange {version} {xid} {purpose}")
        else:
            fail(f"SOAP {version}: zeep parsed no exchangeId header: {header!r}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gateway", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--wsdl-dir", required=True)
    p.add_argument("--schemas-dir", required=True)
    p.add_argument("--call-reniec", action="store_true")
    p.add_argument("--purpose", help="call RENIEC through both bindings with this purpose")
    p.add_argument("--password", default="demo", help="the demo member's legacy password")
    args = p.parse_args()
    args.gateway = args.gateway.rstrip("/")

    transport = LoopbackTransport(args.gateway, args.schemas_dir, args.wsdl_dir)
    wsdls = sorted(os.path.join(args.wsdl_dir, f) for f in os.listdir(args.wsdl_dir)
                   if f.endswith(".wsdl"))
    if not wsdls:
        fail(f"no WSDL in {args.wsdl_dir}")
    clients = {os.path.basename(w): check_wsdl(args, transport, w) for w in wsdls}
    if args.call_reniec:
        client = clients.get("ReniecConsultaDni.wsdl")
        if client is None:
            fail("ReniecConsultaDni.wsdl could not be loaded: no call made")
        else:
            call_reniec(args, client)
            if args.purpose:
                call_with_headers(args, client)
    print(f"{'FAILED' if failures else 'PASSED'}: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
