#!/usr/bin/env python3
"""zeep_migra_rest.py — python3-zeep, an independent SOAP toolkit, calls MigraCarneRest (a REST/JSON
provider published by configuration: the xslt adapter, providerStyle rest-json) through the WSDL
the running gateway serves at ?wsdl, with the pide-gateway header naming the demo member, and
checks the answer as zeep parsed it. Reuses zeep_client.py's loopback-only transport. One
"ok:"/"FAIL:" line per check; exit 1 on any failure.
"""
import argparse
import os
import sys

from lxml import etree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zeep_client  # noqa: E402
import zeep  # noqa: E402

PGW = "urn:pide-gateway:header:1"
NS = "http://ws.pide-gateway.org/migraciones-rest/"


def header(member):
    client = etree.Element(f"{{{PGW}}}client", nsmap={"pgw": PGW})
    etree.SubElement(client, f"{{{PGW}}}memberCode").text = member
    etree.SubElement(client, f"{{{PGW}}}subsystemCode").text = "zeep"
    purpose = etree.Element(f"{{{PGW}}}purpose", nsmap={"pgw": PGW})
    purpose.text = "Prueba con python3-zeep"
    return [client, purpose]


def solicitud(numero, institucion="20000000001"):
    return {"strCodInstitucion": institucion, "strMac": "00:1A:2B:3C:4D:5E",
            "strNroIp": "192.168.10.25", "strNumDocumento": numero, "strTipoDocumento": "CE"}


def unwrap(r):
    values = getattr(r, "__values__", {})
    if "body" in values and "header" in values:
        r = r.body
    values = getattr(r, "__values__", {})
    if "parameters" in values:
        r = r.parameters
    values = getattr(r, "__values__", {})
    if "return" in values:
        r = r["return"]
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gateway", required=True)
    p.add_argument("--wsdl-dir", required=True)
    p.add_argument("--schemas-dir", required=True)
    args = p.parse_args()
    gw = args.gateway.rstrip("/")
    transport = zeep_client.LoopbackTransport(gw, args.schemas_dir, args.wsdl_dir)
    client = zeep.Client(f"{gw}/services/MigraCarneRest?wsdl", transport=transport)
    zeep_client.ok("MigraCarneRest.wsdl: zeep loads it from the gateway")
    for binding in ("MigraCarneRestBinding", "MigraCarneRestSoap12Binding"):
        proxy = client.create_service(f"{{{NS}}}{binding}", f"{gw}/services/MigraCarneRest")
        cases = [("001234567", "0000", "VIGENTE", "20000000001"),
                 ("444412345", "0001", "VENCIDO", "20000000001"),
                 ("000012345", "0001", None, "20000000001"),
                 # the body claims the blocked code; the member is heard as itself
                 ("001234567", "0000", "VIGENTE", "BLOQUEADA")]
        for numero, code, estado, inst in cases:
            try:
                r = unwrap(proxy.consultarDocumento(solicitud=solicitud(numero, inst),
                                                    _soapheaders=header("20000000001")))
            except Exception as e:
                zeep_client.fail(f"{binding} consultarDocumento({numero}) through zeep: {e}")
                continue
            if r.strNumRespuesta == code and r.strEstadoCarne == estado:
                zeep_client.ok(f"{binding} consultarDocumento({numero}, body institution {inst}): "
                               f"strNumRespuesta {code!r}, strEstadoCarne {estado!r} as parsed by zeep")
            else:
                zeep_client.fail(f"{binding} consultarDocumento({numero}): {r.strNumRespuesta!r}, "
                                 f"{r.strEstadoCarne!r}; expected {code!r}, {estado!r}")
        try:
            proxy.consultarDocumento(solicitud=solicitud("999999999"),
                                     _soapheaders=header("20000000001"))
            zeep_client.fail(f"{binding}: the register in maintenance gave an answer")
        except zeep.exceptions.Fault as f:
            # SOAP 1.1: faultcode soap:Server.Provider.Unavailable; SOAP 1.2: Receiver with
            # the gateway's code as its Subcode
            codes = [str(f.code)] + [getattr(q, "localname", str(q)) for q in (f.subcodes or [])]
            if any(c.endswith("Server.Provider.Unavailable") for c in codes):
                zeep_client.ok(f"{binding}: the register in maintenance: zeep raises "
                               "Server.Provider.Unavailable")
            else:
                zeep_client.fail(f"{binding}: the register in maintenance: Fault {codes}")
    print(f"{'FAILED' if zeep_client.failures else 'PASSED'}: {zeep_client.failures} failure(s)")
    return 1 if zeep_client.failures else 0


if __name__ == "__main__":
    sys.exit(main())
