/* stage07_identify.c — establishes who is calling. On services configured for it, the legacy
 * PIDE credentials in the body (nuRucUsuario, nuDniUsuario, password) identify a member and
 * official; they are checked against salted hashes (the log's copy of the request is redacted
 * by stage12_log, whatever stage ends the exchange). In order of strength: the mutual-TLS client
 * certificate, then a WS-Security signature, then the legacy credentials; on a loopback listener
 * configured with trustClientHeader, the pgw:client the caller declares (demo and development
 * only). What the request's header says about its caller (pgw:client, pgw:userId with legacy
 * credentials) must agree with the proof; the body's fields that name the caller are bound to
 * this identity by the next stage (stage07b_bind.c, <identityField> in the service's
 * configuration). */
#include <string.h>

#include "config.h"
#include "credential.h"
#include "pipeline.h"
#include "runtime.h"
#include "xml_parse.h"

/* Text of the first descendant element `name` of the operation element (arena), or NULL. */
static const char *field_text(gw_exchange *ex, const char *name)
{
    xmlNodePtr n = gw_xml_descendant(ex->request_operation, name);
    if (!n)
        return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    const char *copy = gw_arena_strdup(&ex->arena, t ? (const char *)t : "");
    xmlFree(t);
    return copy;
}

/* Legacy PIDE credentials in the body: the member's RUC, the official's DNI, a password. */
static gw_status identify_by_legacy_credentials(gw_exchange *ex, const char *ruc,
                                                const char *dni, const char *password)
{
    /* Logged even when wrong: who claimed to call matters to auditors. */
    ex->client_member = ruc;
    ex->client_user = dni;
    ex->auth_method = "legacy-password";
    gw_status st = gw_credential_check(ex->rt->credentials, ex->rt->config, ruc, dni, password);
    memset((char *)password, 0, strlen(password));
    if (st != GW_OK)
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                                "unknown member, official or wrong password");
    if (ex->header.client_member && strcmp(ex->header.client_member, ruc) != 0)
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                                "header client %s differs from the credentials' member %s",
                                ex->header.client_member, ruc);
    /* Nor may the header name another official than the one who authenticated. */
    if (ex->header.user_id && strcmp(ex->header.user_id, dni) != 0)
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                                "header userId %s differs from the credentials' official %s",
                                ex->header.user_id, dni);
    return GW_OK;
}

/* A member proven by certificate (TLS client or request signer): what the request claims about
 * its caller must agree, and the member must be known. */
static gw_status check_certified_member(gw_exchange *ex)
{
    if (!*ex->client_member)
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION, "the certificate carries no member RUC");
    if (ex->header.client_member && strcmp(ex->header.client_member, ex->client_member) != 0)
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                                "header client %s is not the certificate's member %s",
                                ex->header.client_member, ex->client_member);
    const char *body_ruc =
        ex->service->config->legacy_credentials ? field_text(ex, "nuRucUsuario") : NULL;
    if (body_ruc && strcmp(body_ruc, ex->client_member) != 0)
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                                "nuRucUsuario %s is not the certificate's member %s", body_ruc,
                                ex->client_member);
    if (!gw_config_find_member(ex->rt->config, ex->client_member))
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION, "unknown member %s", ex->client_member);
    return GW_OK;
}

gw_status gw_stage_identify(gw_exchange *ex)
{
    ex->auth_method = "none";
    ex->client_user = ex->header.user_id;

    /* Mutual TLS: the certificate is the identity; whatever else the request says must agree. */
    if (ex->tls_member) {
        if (!*ex->tls_member)
            return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                                    "the client certificate (%s) carries no member RUC",
                                    ex->tls_subject);
        ex->client_member = ex->tls_member;
        ex->auth_method = "mtls";
        if (ex->request_signed && strcmp(ex->signer_member, ex->tls_member) != 0)
            return gw_exchange_fail(ex, GW_ERR_BAD_SIGNATURE,
                                    "the request is signed by member '%s', the TLS client is %s",
                                    ex->signer_member, ex->tls_member);
        return check_certified_member(ex);
    }
    /* A WS-Security signature by a member's certificate is an identity of its own. */
    if (ex->request_signed) {
        ex->client_member = ex->signer_member;
        ex->auth_method = "wss-signature";
        return check_certified_member(ex);
    }

    if (ex->service->config->legacy_credentials) {
        const char *ruc = field_text(ex, "nuRucUsuario");
        const char *dni = field_text(ex, "nuDniUsuario");
        const char *password = field_text(ex, "password");
        if (ruc && dni && password)
            return identify_by_legacy_credentials(ex, ruc, dni, password);
    }
    /* Development and demo listeners on loopback may take the caller's word for it. */
    if (ex->rt->config->trust_client_header && ex->header.client_member) {
        ex->client_member = ex->header.client_member;
        ex->auth_method = "declared-header";
        if (!gw_config_find_member(ex->rt->config, ex->client_member))
            return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION, "unknown member %s",
                                    ex->client_member);
        return GW_OK;
    }
    if (ex->service->config->legacy_credentials)
        return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                                "nuRucUsuario, nuDniUsuario and password are required");
    return gw_exchange_fail(ex, GW_ERR_AUTHENTICATION,
                            "service %s needs an authenticated client (client certificate)",
                            ex->service->config->name);
}
