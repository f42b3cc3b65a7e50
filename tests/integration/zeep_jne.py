#!/usr/bin/env python3
"""zeep_jne.py — python3-zeep, an independent SOAP toolkit, calls JnePadronElectoral (a SOAP 1.2
register published by configuration: the soap-proxy adapter) through the WSDL the running gateway
serves at ?wsdl, over its SOAP 1.1 and its SOAP 1.2 binding, with the pide-gateway header naming
the demo member, and checks the answer as zeep parsed it. Reuses zeep_client.py's loopback-only
transport. One "ok:"/"FAIL:" line per check; exit 1 on any failure.
"""
import argparse
import os
import sys

from lxml import etree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zeep_client  # noqa: E402
import zeep  # noqa: E402

PGW = "urn:pide-gateway:header:1"
TNS = "http://ws.pide-gateway.org/jne/"


def header(member):
    client = etree.Element(f"{{{PGW}}}client", nsmap={"pgw": PGW})
    etree.SubElement(client, f"{{{PGW}}}memberCode").text = member
    etree.SubElement(client, f"{{{PGW}}}subsystemCode").text = "zeep"
    return [client]


def unwrap(r):
    # The WSDL declares the pide-gateway response header: zeep then answers body and header.
    values = getattr(r, "__values__", {})
    if "body" in values and "header" in values:
        r = r.body
    values = getattr(r, "__values__", {})
    if "parameters" in values:  # the body's one part, by its name in the WSDL
        r = r.parameters
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gateway", required=True)
    p.add_argument("--wsdl-dir", required=True)
    p.add_argument("--schemas-dir", required=True)
    args = p.parse_args()
    gw = args.gateway.rstrip("/")
    transport = zeep_client.LoopbackTransport(gw, args.schemas_dir, args.wsdl_dir)
    client = zeep.Client(f"{gw}/services/JnePadronElectoral?wsdl", transport=transport)
    zeep_client.ok("JnePadronElectoral.wsdl: zeep loads it from the gateway")
    for binding in ("JnePadronElectoralBinding", "JnePadronElectoralSoap12Binding"):
        proxy = client.create_service(f"{{{TNS}}}{binding}", f"{gw}/services/JnePadronElectoral")
        for dni, code in (("45678912", "0000"), ("10000001", "0001")):
            try:
                r = unwrap(proxy.consultarPadron(numeroDni=dni, rucEntidad="20000000001",
                                                 motivo="Prueba con python3-zeep",
                                                 _soapheaders=header("20000000001")))
            except Exception as e:
                zeep_client.fail(f"{binding} consultarPadron({dni}): {e}")
                continue
            elector = r.elector.numeroDni if r.elector is not None else None
            want = dni if code == "0000" else None
            if r.codigo == code and elector == want and r.rucEntidad == "20000000001":
                zeep_client.ok(f"{binding} consultarPadron({dni}): codigo {code!r}, elector "
                               f"{elector!r}, rucEntidad {r.rucEntidad!r} as parsed by zeep")
            else:
                zeep_client.fail(f"{binding} consultarPadron({dni}): codigo {r.codigo!r}, elector "
                                 f"{elector!r}; expected {code!r}, {want!r}")
    proxy = client.create_service(f"{{{TNS}}}JnePadronElectoralBinding",
                                  f"{gw}/services/JnePadronElectoral")
    try:
        proxy.consultarPadron(numeroDni="99999990", rucEntidad="20000000001",
                              _soapheaders=header("20000000001"))
        zeep_client.fail("a register Fault reached zeep as an answer")
    except zeep.exceptions.Fault as f:
        if f.code.endswith("Server.Provider.Unavailable"):
            zeep_client.ok("the register's Fault: zeep raises the Fault Server.Provider.Unavailable")
        else:
            zeep_client.fail(f"the register's Fault: Fault {f.code}")
    print(f"{'FAILED' if zeep_client.failures else 'PASSED'}: {zeep_client.failures} failure(s)")
    return 1 if zeep_client.failures else 0


if __name__ == "__main__":
    sys.exit(main())
