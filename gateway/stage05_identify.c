/* stage05_identify.c — establishes who is calling. On services configured for it, the legacy
 * PIDE credentials in the body (nuRucUsuario, nuDniUsuario, password) identify a member and
 * official; they are checked against salted hashes, and the password is redacted from the copy
 * of the request the log keeps. (Identification by client certificate comes with mTLS.) */
#include <string.h>

#include "pipeline.h"
#include "redact.h"
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

gw_status stage_identify(gw_exchange *ex)
{
    int redacted = 0;
    gw_status st = gw_redact_element_text(&ex->arena, ex->request, ex->request_len, "password",
                                          &ex->logged_request, &ex->logged_request_len,
                                          &redacted);
    if (st != GW_OK)
        return st;
    ex->auth_method = "none";
    if (!ex->service->config->legacy_credentials)
        return exchange_fail(ex, GW_ERR_AUTHENTICATION,
                             "service %s accepts no body credentials and the caller presented "
                             "no client certificate",
                             ex->service->config->name);
    const char *ruc = field_text(ex, "nuRucUsuario");
    const char *dni = field_text(ex, "nuDniUsuario");
    const char *password = field_text(ex, "password");
    if (!ruc || !dni || !password)
        return exchange_fail(ex, GW_ERR_AUTHENTICATION,
                             "nuRucUsuario, nuDniUsuario and password are required");
    /* Logged even when wrong: who claimed to call matters to auditors. */
    ex->client_member = ruc;
    ex->client_user = dni;
    ex->auth_method = "legacy-password";
    st = gw_credential_check(ex->rt->credentials, ex->rt->config, ruc, dni, password);
    memset((char *)password, 0, strlen(password));
    if (st != GW_OK)
        return exchange_fail(ex, GW_ERR_AUTHENTICATION,
                             "unknown member, official or wrong password");
    return GW_OK;
}
