<?xml version="1.0" encoding="UTF-8"?>
<!--
  sunat-request.xsl — SunatConsultaRuc's document/literal getDatosPrincipales (validated against
  schemas/sunat-consulta-ruc.xsd) -> the SOAP 1.1 RPC/encoded envelope SUNAT's Axis 1 service
  reads. Run by the xslt adapter (docs/configuration.md) on the operation element alone.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:tns="http://ws.pide-gateway.org/sunat/"
    exclude-result-prefixes="tns">
  <xsl:output method="xml" encoding="UTF-8"/>

  <xsl:template match="/tns:getDatosPrincipales">
    <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
                      xmlns:xsd="http://www.w3.org/2001/XMLSchema"
                      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                      xmlns:ser="http://ws.registro.servicio.sunat.gob.pe">
      <soapenv:Body>
        <ser:getDatosPrincipales soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
          <numRuc xsi:type="xsd:string"><xsl:value-of select="normalize-space(numRuc)"/></numRuc>
        </ser:getDatosPrincipales>
      </soapenv:Body>
    </soapenv:Envelope>
  </xsl:template>

  <xsl:template match="/*" priority="-1">
    <xsl:message terminate="yes">sunat-request.xsl: operation <xsl:value-of select="local-name()"/> is not SunatConsultaRuc's</xsl:message>
  </xsl:template>
</xsl:stylesheet>
