/* stage12_log.c — appends the exchange to the exchange log and waits for its commit. When the
 * row cannot be committed the caller gets Server.LogUnavailable instead of the data: the
 * gateway never answers an exchange it has not logged. */
#include <string.h>

#include "log.h"
#include "pipeline.h"
#include "response.h"
#include "runtime.h"

static void record_of(const gw_exchange *ex, gw_log_record *r)
{
    const gw_service *svc = ex->service;
    *r = (gw_log_record){
        .exchange_id = ex->exchange_id,
        .client_member = ex->client_member,
        .client_user = ex->client_user,
        .auth_method = ex->auth_method ? ex->auth_method : "none",
        .client_subsystem = ex->header.client_subsystem,
        .client_cert_sha256 = ex->signer_cert_sha256 ? ex->signer_cert_sha256 : ex->tls_cert_sha256,
        .message_id = ex->header.id,
        .request_signature_value = ex->request_signature_value,
        .client_address = ex->client_address,
        .service = svc ? svc->config->name : NULL,
        .operation = ex->operation,
        .adapter = svc ? svc->binding->adapter->name : NULL,
        .subject_type = ex->subject_type,
        .subject_id = ex->subject_id,
        .purpose = ex->purpose,
        .procedure = ex->procedure,
        .caller_host = ex->caller_host,
        .caller_ip = ex->caller_ip,
        .caller_user = ex->caller_user,
        .caller_mac = ex->caller_mac,
        .request = (const unsigned char *)ex->logged_request,
        .request_len = ex->logged_request_len,
        .response = (const unsigned char *)ex->response,
        .response_len = ex->response_len,
        .signature_value = ex->signature_value,
        .t_request_in = ex->t_request_in,
        .t_provider_out = ex->t_provider_out,
        .t_provider_in = ex->t_provider_in,
        .t_response_out = ex->t_response_out,
        .outcome = ex->status == GW_OK ? "ok" : "fault",
        .fault_code = ex->status == GW_OK ? NULL : gw_status_fault_code(ex->status),
        .fault_message = ex->status == GW_OK ? NULL : ex->fault_detail,
        .result_code = ex->result_code,
        .http_status = ex->http_status,
    };
    memcpy(r->request_sha256, ex->request_sha256, 32);
    memcpy(r->response_sha256, ex->response_sha256, 32);
}

gw_status stage_log(gw_exchange *ex)
{
    gw_log_record rec;
    record_of(ex, &rec);
    gw_status st = exchange_log_append(ex->rt->log, &rec);
    if (st == GW_OK)
        return GW_OK;
    gw_log(PIDE_LOG_ERROR, "[%s] exchange not logged (%s): answering Server.LogUnavailable",
           ex->exchange_id, gw_status_name(st));
    /* The fault carries no data; it is not signed either, since the signature would vouch for
     * an exchange that has no log record. */
    ex->status = GW_ERR_LOG_UNAVAILABLE;
    ex->fault_detail = NULL;
    ex->signature_value = NULL;
    xmlFreeDoc(ex->response_doc);
    ex->response_doc = NULL;
    response_set_fault(ex);
    response_serialise(ex);
    return st;
}
