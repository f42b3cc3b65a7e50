<?xml version="1.0" encoding="UTF-8"?>
<!--
  carne-request.xsl — MigraCarneRest's consultarDocumento (schemas/migraciones-carne-rest.xsd)
  -> a call to Migraciones' REST/JSON card register (simulators/migraciones/README.md):
  GET {endpoint}/{strNumDocumento}?entidad={institution code}. Run by the xslt adapter with
  providerStyle rest-json (docs/configuration.md): it outputs <pgx:http method= path=>, the path
  appended to the service's endpoint (the card collection).

  Who asks is one fact: `entidad` is $institutionCode, the authenticated member's code that the
  gateway hands every stylesheet, never the body's strCodInstitucion (which the service's
  <identityField action="overwrite"> also rewrites). Only a host without an authenticated caller
  (pide-adapter-check) leaves $institutionCode empty; then the body's code is sent.
  The schema has already checked the number (9 digits) and the code ([A-Za-z0-9._-]): nothing
  needs percent-encoding. A document type other than CE is refused before the register hears it:
  <pgx:fault code="bad-request"> (Client.BadRequest).
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:tns="http://ws.pide-gateway.org/migraciones-rest/"
    xmlns:pgx="urn:pide-gateway:xslt:1"
    exclude-result-prefixes="tns">
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:param name="institutionCode"/>

  <xsl:template match="/tns:consultarDocumento">
    <xsl:variable name="s" select="solicitud"/>
    <xsl:variable name="entidad">
      <xsl:choose>
        <xsl:when test="string($institutionCode) != ''"><xsl:value-of select="$institutionCode"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$s/strCodInstitucion"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:choose>
      <xsl:when test="$s/strTipoDocumento != 'CE'">
        <pgx:fault code="bad-request">strTipoDocumento <xsl:value-of select="$s/strTipoDocumento"/> is not served (only CE)</pgx:fault>
      </xsl:when>
      <xsl:otherwise>
        <pgx:http method="GET" path="/{$s/strNumDocumento}?entidad={$entidad}">
          <!-- request headers the provider needs (the host checks names and values) -->
          <pgx:header name="Accept">application/json</pgx:header>
        </pgx:http>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
