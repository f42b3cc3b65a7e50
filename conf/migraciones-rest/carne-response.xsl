<?xml version="1.0" encoding="UTF-8"?>
<!--
  carne-response.xsl — Migraciones' REST/JSON answer -> MigraCarneRest's
  consultarDocumentoResponse (schemas/migraciones-carne-rest.xsd, whose strNumRespuesta codes
  it follows). Run by the xslt adapter (providerStyle rest-json) on
  <pgx:response status="HTTP status"> holding the JSON in the W3C XML form (fn:map, fn:string...
  in http://www.w3.org/2005/xpath-functions, members named by @key).

    200 estado VIGENTE            0000 with the holder's data
    200 estado VENCIDO / ANULADO  0001, strEstadoCarne says which
    404 CARNE_NO_ENCONTRADO       0001
    403 ENTIDAD_NO_AUTORIZADA     0003 (Migraciones does not serve the calling institution)
    400 NUMERO_INVALIDO           0004
    5xx                           <pgx:fault code="provider-unavailable">  (Server.Provider.Unavailable)
    anything else                 <pgx:fault code="provider-bad-response"> (Server.Provider.BadResponse)

  The card's fields are copied as they come; the adapter validates the result by the contract's
  XSD (responseSchema), so a card whose data do not fit the contract (a missing or malformed
  date) is Server.Provider.BadResponse, never an invalid answer.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:fn="http://www.w3.org/2005/xpath-functions"
    xmlns:pgx="urn:pide-gateway:xslt:1"
    xmlns:tns="http://ws.pide-gateway.org/migraciones-rest/"
    exclude-result-prefixes="fn pgx">
  <xsl:output method="xml" encoding="UTF-8"/>

  <xsl:variable name="status" select="string(/pgx:response/@status)"/>
  <xsl:variable name="card" select="/pgx:response/fn:map"/>
  <xsl:variable name="error" select="string($card/fn:map[@key='error']/fn:string[@key='codigo'])"/>
  <xsl:variable name="estado" select="string($card/fn:string[@key='estado'])"/>

  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="$status = '200' and $estado = 'VIGENTE'">
        <xsl:variable name="t" select="$card/fn:map[@key='titular']"/>
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0000'"/>
          <xsl:with-param name="text" select="'Consulta correcta'"/>
          <xsl:with-param name="card">
            <strNombres><xsl:value-of select="$t/fn:string[@key='nombres']"/></strNombres>
            <strPrimerApellido><xsl:value-of select="$t/fn:string[@key='apellidoPaterno']"/></strPrimerApellido>
            <strSegundoApellido><xsl:value-of select="$t/fn:string[@key='apellidoMaterno']"/></strSegundoApellido>
            <strCalidadMigratoria><xsl:value-of select="$card/fn:string[@key='calidadMigratoria']"/></strCalidadMigratoria>
            <strNacionalidad><xsl:value-of select="$t/fn:string[@key='nacionalidad']"/></strNacionalidad>
            <strFechaVencimiento><xsl:value-of select="$card/fn:string[@key='fechaVencimiento']"/></strFechaVencimiento>
            <strEstadoCarne>VIGENTE</strEstadoCarne>
          </xsl:with-param>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$status = '200' and $estado = 'VENCIDO'">
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0001'"/>
          <xsl:with-param name="text" select="'El carne de extranjeria esta vencido'"/>
          <xsl:with-param name="card">
            <strFechaVencimiento><xsl:value-of select="$card/fn:string[@key='fechaVencimiento']"/></strFechaVencimiento>
            <strEstadoCarne>VENCIDO</strEstadoCarne>
          </xsl:with-param>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$status = '200' and $estado = 'ANULADO'">
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0001'"/>
          <xsl:with-param name="text" select="concat('El carne de extranjeria esta anulado: ', $card/fn:string[@key='motivoAnulacion'])"/>
          <xsl:with-param name="card"><strEstadoCarne>ANULADO</strEstadoCarne></xsl:with-param>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$status = '404' and $error = 'CARNE_NO_ENCONTRADO'">
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0001'"/>
          <xsl:with-param name="text" select="'No existe carne de extranjeria con ese numero'"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$status = '403' and $error = 'ENTIDAD_NO_AUTORIZADA'">
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0003'"/>
          <xsl:with-param name="text" select="'Migraciones no autoriza a la institucion consultante'"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$status = '400' and $error = 'NUMERO_INVALIDO'">
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0004'"/>
          <xsl:with-param name="text" select="'Numero de documento invalido para Migraciones'"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="number($status) &gt;= 500">
        <pgx:fault code="provider-unavailable">Migraciones answered HTTP <xsl:value-of select="$status"/> <xsl:value-of select="concat(' ', $error)"/></pgx:fault>
      </xsl:when>
      <xsl:otherwise>
        <pgx:fault code="provider-bad-response">Migraciones answered HTTP <xsl:value-of select="$status"/> <xsl:value-of select="concat(' ', $error, $estado)"/>, which the contract has no answer for</pgx:fault>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="result">
    <xsl:param name="code"/>
    <xsl:param name="text"/>
    <xsl:param name="card"/>
    <tns:consultarDocumentoResponse>
      <return>
        <strNumRespuesta><xsl:value-of select="$code"/></strNumRespuesta>
        <xsl:copy-of select="$card"/>
        <strDesRespuesta><xsl:value-of select="$text"/></strDesRespuesta>
      </return>
    </tns:consultarDocumentoResponse>
  </xsl:template>
</xsl:stylesheet>
