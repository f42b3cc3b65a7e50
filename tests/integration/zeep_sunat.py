#!/usr/bin/env python3
"""zeep_sunat.py — python3-zeep, an independent SOAP toolkit, calls SunatConsultaRuc (a service
published by configuration: the xslt adapter) through the WSDL the running gateway serves at
?wsdl, with the pide-gateway header naming the demo member, and checks the answer as zeep parsed
it. Reuses zeep_client.py's loopback-only transport. One "ok:"/"FAIL:" line per check; exit 1 on
any failure.
"""
import argparse
import os
import sys

from lxml import etree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zeep_client  # noqa: E402
import zeep  # noqa: E402

PGW = "urn:pide-gateway:header:1"


def header(member):
    client = etree.Element(f"{{{PGW}}}client", nsmap={"pgw": PGW})
    etree.SubElement(client, f"{{{PGW}}}memberCode").text = member
    etree.SubElement(client, f"{{{PGW}}}subsystemCode").text = "zeep"
    purpose = etree.Element(f"{{{PGW}}}purpose", nsmap={"pgw": PGW})
    purpose.text = "Prueba con python3-zeep"
    return [client, purpose]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gateway", required=True)
    p.add_argument("--wsdl-dir", required=True)
    p.add_argument("--schemas-dir", required=True)
    args = p.parse_args()
    gw = args.gateway.rstrip("/")
    transport = zeep_client.LoopbackTransport(gw, args.schemas_dir, args.wsdl_dir)
    client = zeep.Client(f"{gw}/services/SunatConsultaRuc?wsdl", transport=transport)
    zeep_client.ok("SunatConsultaRuc.wsdl: zeep loads it from the gateway")
    proxy = client.create_service("{http://ws.pide-gateway.org/sunat/}SunatConsultaRucBinding",
                                  f"{gw}/services/SunatConsultaRuc")
    cases = [("20100070970", "0000", "ACTIVO"), ("20888888889", "0003", "BAJA DEFINITIVA"),
             ("20999999990", "0001", None)]
    for ruc, code, estado in cases:
        try:
            r = proxy.getDatosPrincipales(numRuc=ruc, _soapheaders=header("20000000001"))
        except Exception as e:
            zeep_client.fail(f"getDatosPrincipales({ruc}) through zeep: {e}")
            continue
        # The WSDL declares the pide-gateway response header: zeep then answers body and header.
        values = getattr(r, "__values__", {})
        if "body" in values and "header" in values:
            r = r.body
        values = getattr(r, "__values__", {})
        if "parameters" in values:  # the body's one part, by its name in the WSDL
            r = r.parameters
        values = getattr(r, "__values__", {})
        if "return" in values:      # the wrapper's one child (zeep unwraps it only without headers)
            r = r["return"]
        got_estado = r.datosPrincipales.desc_estado if r.datosPrincipales else None
        if r.coResultado == code and got_estado == estado:
            zeep_client.ok(f"getDatosPrincipales({ruc}): coResultado {code!r}, desc_estado "
                           f"{got_estado!r} as parsed by zeep")
        else:
            zeep_client.fail(f"getDatosPrincipales({ruc}): coResultado {r.coResultado!r}, "
                             f"desc_estado {got_estado!r}; expected {code!r}, {estado!r}")
        if r.datosPrincipales is not None and not isinstance(r.datosPrincipales.esActivo, bool):
            zeep_client.fail("esActivo is not parsed as xsd:boolean")
    try:
        proxy.getDatosPrincipales(numRuc="20100070970", _soapheaders=header("20000000002"))
        zeep_client.fail("a member without a grant got an answer")
    except zeep.exceptions.Fault as f:
        if f.code.endswith("Client.AccessDenied"):
            zeep_client.ok("a member without a grant: zeep raises the Fault Client.AccessDenied")
        else:
            zeep_client.fail(f"a member without a grant: Fault {f.code}")
    print(f"{'FAILED' if zeep_client.failures else 'PASSED'}: {zeep_client.failures} failure(s)")
    return 1 if zeep_client.failures else 0


if __name__ == "__main__":
    sys.exit(main())
