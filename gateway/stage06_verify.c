/* stage06_verify.c — checks a WS-Security signed request (OASIS WSS 1.1, X.509 token): the
 * signer's certificate must chain to the configured CA, the signature must cover the Body, the
 * Timestamp and every pide-gateway header element, and the Timestamp must be current (wss.h).
 * A signed request proves who asked, for the log's non-repudiation; the identify stage then
 * holds the signer to the TLS identity and to what the request claims. A signed request without
 * a pgw:id is kept from being replayed by the key its signature fixes (stage09, wss.h). */
#include <string.h>

#include "config.h"
#include "pipeline.h"
#include "runtime.h"
#include "wss.h"
#include "xml_parse.h"

static xmlNodePtr security_header(gw_exchange *ex)
{
    for (xmlNodePtr c = gw_xml_first_element(ex->request_header); c; c = c->next)
        if (gw_xml_is(c, GW_WSSE_NS, "Security"))
            return c;
    return NULL;
}

gw_status gw_stage_verify(gw_exchange *ex)
{
    if (!security_header(ex)) {
        if (ex->service->config->require_signature)
            return gw_exchange_fail(ex, GW_ERR_BAD_SIGNATURE,
                                    "service %s accepts only WS-Security signed requests",
                                    ex->service->config->name);
        return GW_OK;
    }
    const gw_config *cfg = ex->rt->config;
    if (!ex->rt->wss_trust)
        return gw_exchange_fail(ex, GW_ERR_BAD_SIGNATURE,
                                "this gateway is not configured for WS-Security (no <wsSecurity>)");
    gw_wss_policy policy = {
        .ca_pem_path = cfg->wss_trusted_ca_path,
        .trust = ex->rt->wss_trust,
        .max_skew_s = cfg->timestamp_max_skew_s,
        .max_age_s = cfg->timestamp_max_age_s,
    };
    gw_wss_result res;
    char err[512];
    gw_status st = gw_wss_verify_request(ex->request_doc, &policy, &res, err, sizeof err);
    if (st != GW_OK)
        return gw_exchange_fail(ex, st, "%s", err);
    ex->request_signed = 1;
    ex->signer_member = gw_arena_strdup(&ex->arena, res.member_id);
    ex->signer_cert_sha256 = gw_arena_strdup(&ex->arena, res.cert_sha256_hex);
    ex->request_signature_value = gw_arena_strdup(&ex->arena, res.signature_value);
    ex->request_replay_key = gw_arena_printf(&ex->arena, "wss:%s", res.replay_key);
    return GW_OK;
}
