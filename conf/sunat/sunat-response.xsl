<?xml version="1.0" encoding="UTF-8"?>
<!--
  sunat-response.xsl — SUNAT's Axis 1 RPC/encoded answer -> SunatConsultaRuc's document/literal
  getDatosPrincipalesResponse (schemas/sunat-consulta-ruc.xsd). Run by the xslt adapter
  (docs/configuration.md) on SUNAT's whole answer, a SOAP Fault included.

  Axis puts the BeanDdp in a multiRef that getDatosPrincipalesReturn points at (href="#id0"); a
  client without multiRefs gets it inline: both are read. xsi:nil="true" means "no such RUC".
  RucInvalidoException is SUNAT's "not a valid RUC" (result 0002); any other Fault means SUNAT
  could not answer: <pgx:fault code="provider-unavailable"> (Server.Provider.Unavailable). An
  answer of any other shape: <pgx:fault code="provider-bad-response">.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:sunat="http://ws.registro.servicio.sunat.gob.pe"
    xmlns:pgx="urn:pide-gateway:xslt:1"
    xmlns:tns="http://ws.pide-gateway.org/sunat/"
    exclude-result-prefixes="soapenv xsi sunat">
  <xsl:output method="xml" encoding="UTF-8"/>

  <xsl:variable name="body" select="/soapenv:Envelope/soapenv:Body"/>
  <xsl:variable name="ret" select="$body/sunat:getDatosPrincipalesResponse/getDatosPrincipalesReturn"/>

  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="$body/soapenv:Fault[contains(faultstring, 'RucInvalidoException')]">
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0002'"/>
          <xsl:with-param name="text" select="'El número de RUC no es válido'"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$body/soapenv:Fault">
        <pgx:fault code="provider-unavailable">SUNAT answered a Fault: <xsl:value-of select="$body/soapenv:Fault/faultstring"/></pgx:fault>
      </xsl:when>
      <xsl:when test="count($ret) != 1">
        <pgx:fault code="provider-bad-response">no getDatosPrincipalesReturn in SUNAT's answer</pgx:fault>
      </xsl:when>
      <xsl:when test="$ret/@xsi:nil = 'true' or $ret/@xsi:nil = '1'">
        <xsl:call-template name="result">
          <xsl:with-param name="code" select="'0001'"/>
          <xsl:with-param name="text" select="'El RUC no está registrado en SUNAT'"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:when test="$ret/@href">
        <xsl:call-template name="bean">
          <xsl:with-param name="bean" select="$body/multiRef[@id = substring-after($ret/@href, '#')]"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise>
        <xsl:call-template name="bean">
          <xsl:with-param name="bean" select="$ret"/>
        </xsl:call-template>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="result">
    <xsl:param name="code"/>
    <xsl:param name="text"/>
    <tns:getDatosPrincipalesResponse>
      <return>
        <coResultado><xsl:value-of select="$code"/></coResultado>
        <deResultado><xsl:value-of select="$text"/></deResultado>
      </return>
    </tns:getDatosPrincipalesResponse>
  </xsl:template>

  <xsl:template name="bean">
    <xsl:param name="bean"/>
    <xsl:choose>
      <xsl:when test="count($bean) != 1 or string-length($bean/ddp_numruc) != 11">
        <pgx:fault code="provider-bad-response">getDatosPrincipalesReturn does not lead to one BeanDdp with a ddp_numruc</pgx:fault>
      </xsl:when>
      <xsl:otherwise>
        <tns:getDatosPrincipalesResponse>
          <return>
            <xsl:choose>
              <xsl:when test="$bean/ddp_estado != '00'">
                <coResultado>0003</coResultado>
                <deResultado>Contribuyente de baja: <xsl:value-of select="$bean/desc_estado"/></deResultado>
              </xsl:when>
              <xsl:when test="$bean/ddp_flag22 != '00'">
                <coResultado>0004</coResultado>
                <deResultado>Contribuyente activo, condición de domicilio: <xsl:value-of select="$bean/desc_flag22"/></deResultado>
              </xsl:when>
              <xsl:otherwise>
                <coResultado>0000</coResultado>
                <deResultado>Consulta realizada correctamente</deResultado>
              </xsl:otherwise>
            </xsl:choose>
            <datosPrincipales>
        <ddp_numruc><xsl:value-of select="$bean/ddp_numruc"/></ddp_numruc>
        <ddp_nombre><xsl:value-of select="$bean/ddp_nombre"/></ddp_nombre>
        <ddp_estado><xsl:value-of select="$bean/ddp_estado"/></ddp_estado>
        <desc_estado><xsl:value-of select="$bean/desc_estado"/></desc_estado>
        <ddp_flag22><xsl:value-of select="$bean/ddp_flag22"/></ddp_flag22>
        <desc_flag22><xsl:value-of select="$bean/desc_flag22"/></desc_flag22>
        <xsl:if test="string($bean/ddp_tpoemp) != ''"><ddp_tpoemp><xsl:value-of select="$bean/ddp_tpoemp"/></ddp_tpoemp></xsl:if>
        <xsl:if test="string($bean/desc_tpoemp) != ''"><desc_tpoemp><xsl:value-of select="$bean/desc_tpoemp"/></desc_tpoemp></xsl:if>
        <xsl:if test="string($bean/ddp_identi) != ''"><ddp_identi><xsl:value-of select="$bean/ddp_identi"/></ddp_identi></xsl:if>
        <xsl:if test="string($bean/desc_identi) != ''"><desc_identi><xsl:value-of select="$bean/desc_identi"/></desc_identi></xsl:if>
        <xsl:if test="string($bean/ddp_ciiu) != ''"><ddp_ciiu><xsl:value-of select="$bean/ddp_ciiu"/></ddp_ciiu></xsl:if>
        <xsl:if test="string($bean/desc_ciiu) != ''"><desc_ciiu><xsl:value-of select="$bean/desc_ciiu"/></desc_ciiu></xsl:if>
        <xsl:if test="string($bean/ddp_ubigeo) != ''"><ddp_ubigeo><xsl:value-of select="$bean/ddp_ubigeo"/></ddp_ubigeo></xsl:if>
        <xsl:if test="string($bean/cod_dep) != ''"><cod_dep><xsl:value-of select="$bean/cod_dep"/></cod_dep></xsl:if>
        <xsl:if test="string($bean/desc_dep) != ''"><desc_dep><xsl:value-of select="$bean/desc_dep"/></desc_dep></xsl:if>
        <xsl:if test="string($bean/cod_prov) != ''"><cod_prov><xsl:value-of select="$bean/cod_prov"/></cod_prov></xsl:if>
        <xsl:if test="string($bean/desc_prov) != ''"><desc_prov><xsl:value-of select="$bean/desc_prov"/></desc_prov></xsl:if>
        <xsl:if test="string($bean/cod_dist) != ''"><cod_dist><xsl:value-of select="$bean/cod_dist"/></cod_dist></xsl:if>
        <xsl:if test="string($bean/desc_dist) != ''"><desc_dist><xsl:value-of select="$bean/desc_dist"/></desc_dist></xsl:if>
        <xsl:if test="string($bean/ddp_tipvia) != ''"><ddp_tipvia><xsl:value-of select="$bean/ddp_tipvia"/></ddp_tipvia></xsl:if>
        <xsl:if test="string($bean/desc_tipvia) != ''"><desc_tipvia><xsl:value-of select="$bean/desc_tipvia"/></desc_tipvia></xsl:if>
        <xsl:if test="string($bean/ddp_nomvia) != ''"><ddp_nomvia><xsl:value-of select="$bean/ddp_nomvia"/></ddp_nomvia></xsl:if>
        <xsl:if test="string($bean/ddp_numer1) != ''"><ddp_numer1><xsl:value-of select="$bean/ddp_numer1"/></ddp_numer1></xsl:if>
        <xsl:if test="string($bean/ddp_inter1) != ''"><ddp_inter1><xsl:value-of select="$bean/ddp_inter1"/></ddp_inter1></xsl:if>
        <xsl:if test="string($bean/ddp_tipzon) != ''"><ddp_tipzon><xsl:value-of select="$bean/ddp_tipzon"/></ddp_tipzon></xsl:if>
        <xsl:if test="string($bean/desc_tipzon) != ''"><desc_tipzon><xsl:value-of select="$bean/desc_tipzon"/></desc_tipzon></xsl:if>
        <xsl:if test="string($bean/ddp_nomzon) != ''"><ddp_nomzon><xsl:value-of select="$bean/ddp_nomzon"/></ddp_nomzon></xsl:if>
        <xsl:if test="string($bean/ddp_refer1) != ''"><ddp_refer1><xsl:value-of select="$bean/ddp_refer1"/></ddp_refer1></xsl:if>
        <xsl:if test="string($bean/ddp_numreg) != ''"><ddp_numreg><xsl:value-of select="$bean/ddp_numreg"/></ddp_numreg></xsl:if>
        <xsl:if test="string($bean/desc_numreg) != ''"><desc_numreg><xsl:value-of select="$bean/desc_numreg"/></desc_numreg></xsl:if>
        <xsl:if test="string($bean/ddp_fecact) != ''"><ddp_fecact><xsl:value-of select="$bean/ddp_fecact"/></ddp_fecact></xsl:if>
        <xsl:if test="string($bean/ddp_fecalt) != ''"><ddp_fecalt><xsl:value-of select="$bean/ddp_fecalt"/></ddp_fecalt></xsl:if>
        <xsl:if test="string($bean/ddp_fecbaj) != ''"><ddp_fecbaj><xsl:value-of select="$bean/ddp_fecbaj"/></ddp_fecbaj></xsl:if>
              <esActivo><xsl:value-of select="$bean/esActivo = 'true'"/></esActivo>
              <esHabido><xsl:value-of select="$bean/esHabido = 'true'"/></esHabido>
            </datosPrincipales>
          </return>
        </tns:getDatosPrincipalesResponse>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
