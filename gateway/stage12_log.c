/* stage12_log.c — appends the exchange to the exchange log and waits for its commit, or, when
 * the caller does not wait (ex->log_notify, pipeline.h), hands the row over and lets the log
 * report the commit later. When the row cannot be committed the caller gets
 * Server.LogUnavailable instead of the data: the gateway never answers an exchange it has not
 * logged. What the row stores of the request is
 * computed here, for every exchange whatever stage ended it, by gw_redact_request (redact.h):
 * no stage before has to remember to remove secrets. A service with <encryptAtRest> has its
 * bodies and fault message encrypted here too (body_crypt.h). */
#include <string.h>

#include "adapter_loader.h"
#include "body_crypt.h"
#include "exchange_log.h"
#include "log.h"
#include "pipeline.h"
#include "redact.h"
#include "response.h"
#include "rest_face.h"
#include "runtime.h"
#include "service_catalog.h"

/* The request as the log keeps it: secrets replaced, or a flagged truncation (redact.h). Never
 * the bytes as received; on out of memory, nothing of them. */
static void set_logged_request(gw_exchange *ex)
{
    ex->logged_request = NULL;
    ex->logged_request_len = 0;
    if (!ex->request)
        return;
    const char *out = NULL;
    size_t out_len = 0;
    int flagged = 0;
    if (gw_redact_request(&ex->arena, ex->request, ex->request_len, &ex->rt->xml_limits, &out,
                          &out_len, &flagged) != GW_OK) {
        out = GW_REDACT_FLAG_PREFIX " out of memory; first 0 bytes kept]\n";
        out_len = strlen(out);
    }
    ex->logged_request = out;
    ex->logged_request_len = out_len;
}

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
        .message_id = ex->message_id,
        .request_signature_value = ex->request_signature_value,
        .trace_id = ex->trace.trace_id[0] ? ex->trace.trace_id : NULL,
        .trace_parent_id = ex->trace.parent_id[0] ? ex->trace.parent_id : NULL,
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

/* The service whose encryption applies: the routed one, else — for a request refused before
 * routing (malformed XML, a bad header...) — the one its URL names, so that what the row keeps
 * of a refused request to an encrypting service is encrypted as well. */
static const gw_body_crypt *body_crypt_of(gw_exchange *ex)
{
    static const char prefix[] = "/services/";
    if (ex->service)
        return ex->service->body_crypt;
    const char *path = ex->http_path;
    if (!path || strncmp(path, prefix, sizeof prefix - 1) != 0)
        return NULL;
    path += sizeof prefix - 1;
    char *name = gw_arena_strndup(&ex->arena, path, strcspn(path, "?/#"));
    const gw_service *svc = name ? gw_service_catalog_find(&ex->rt->catalog, name) : NULL;
    return svc ? svc->body_crypt : NULL;
}

/* A service with <encryptAtRest>: what the row would hold of the request, the response and the
 * fault message becomes CMS EnvelopedData to the auditors' certificates (body_crypt.h); the
 * digests stay those of the plaintext. Here in the worker, so the single log writer does no
 * public-key work. Nothing of the plaintext is left in the record. */
static gw_status encrypt_bodies(gw_exchange *ex, gw_log_record *rec)
{
    const gw_body_crypt *bc = body_crypt_of(ex);
    gw_status st = GW_OK;
    if (!bc)
        return GW_OK;
    if (rec->request && (st = gw_body_crypt_encrypt(bc, &ex->arena, rec->request, rec->request_len,
                                                    &rec->request, &rec->request_len)) != GW_OK)
        goto fail;
    if (rec->response &&
        (st = gw_body_crypt_encrypt(bc, &ex->arena, rec->response, rec->response_len,
                                    &rec->response, &rec->response_len)) != GW_OK)
        goto fail;
    if (rec->fault_message && (st = gw_body_crypt_encrypt_text(bc, &ex->arena, rec->fault_message,
                                                               &rec->fault_message)) != GW_OK)
        goto fail;
    rec->body_encryption = GW_BODY_ENCRYPTION_CMS;
    return GW_OK;
fail:
    gw_log(PIDE_LOG_ERROR, "[%s] the logged bodies could not be encrypted (%s)", ex->exchange_id,
           gw_status_name(st));
    return GW_ERR_LOG_UNAVAILABLE;
}

gw_status gw_stage_log(gw_exchange *ex)
{
    gw_log_record rec;
    set_logged_request(ex);
    record_of(ex, &rec);
    /* A message may quote the request (a schema error quotes values): no secret in it either. */
    rec.fault_message = gw_redact_scrub_text(&ex->arena, ex->request_doc, rec.fault_message);
    gw_status st = encrypt_bodies(ex, &rec);
    if (st != GW_OK)
        return gw_log_refused(ex, st);
    if (ex->log_notify) {
        /* The caller answers when the log reports the commit (gw_pipeline_log_settled). */
        st = gw_exchange_log_submit(ex->rt->log, &rec, ex->log_notify, ex->log_notify_arg);
        if (st == GW_OK) {
            ex->log_pending = 1;
            return GW_OK;
        }
    } else {
        st = gw_exchange_log_append(ex->rt->log, &rec);
    }
    if (st == GW_OK)
        return GW_OK;
    return gw_log_refused(ex, st);
}

gw_status gw_log_refused(gw_exchange *ex, gw_status st)
{
    gw_log(PIDE_LOG_ERROR, "[%s] exchange not logged (%s): answering Server.LogUnavailable",
           ex->exchange_id, gw_status_name(st));
    /* The fault carries no data; it is not signed either, since the signature would vouch for
     * an exchange that has no log record. */
    gw_response_replace_with_fault(ex, GW_ERR_LOG_UNAVAILABLE);
    if (ex->rest)
        gw_rest_unsigned_error(ex);
    else
        gw_response_serialise(ex);
    return st;
}
