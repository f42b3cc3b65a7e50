/* stage11_sign.c — signs the response (enveloped XML-DSig in the soap:Header covering the whole
 * envelope, or WS-Security for a signed request) and serialises it; the bytes produced here are
 * exactly what is sent and logged. */
#include "clock.h"
#include "config.h"
#include "exchange_env.h"
#include "log.h"
#include "pipeline.h"
#include "response.h"
#include "rest_face.h"
#include "runtime.h"
#include "wss.h"
#include "xml_sign.h"

gw_status gw_stage_sign(gw_exchange *ex)
{
    /* A REST exchange answers signed JSON (rest_face.h), not an envelope. */
    if (ex->rest)
        return gw_rest_answer(ex);
    gw_status st = gw_response_envelope_create(ex);
    if (st != GW_OK)
        return st;
    const char *sig = NULL;
    /* Answer in the caller's dialect: WS-Security to a WS-Security signed request, otherwise an
     * enveloped signature that the stock `xmlsec1 --verify --trusted-pem ca.pem` checks. */
    if (ex->request_signed)
        st = gw_wss_sign_response(ex->env->sign, ex->response_doc,
                                  ex->rt->config->wss_response_ttl_s, &sig);
    else
        st = gw_sign_document(ex->env->sign, ex->response_doc, ex->response_header, &sig);
    if (st != GW_OK) {
        gw_log(PIDE_LOG_ERROR, "[%s] signing failed: %s", ex->exchange_id, gw_status_name(st));
        /* An unsigned data answer would have no legal weight: answer a Fault instead. */
        gw_response_replace_with_fault(ex, GW_ERR_SIGNATURE);
    } else {
        ex->signature_value = gw_arena_strdup(&ex->arena, sig);
    }
    ex->t_response_out = gw_now_us();
    gw_status ser = gw_response_serialise(ex);
    return st != GW_OK ? st : ser;
}
