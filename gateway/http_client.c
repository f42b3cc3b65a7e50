/* http_client.c — outbound provider calls over a per-worker keep-alive gSOAP client. */
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "stdsoap2.h"

struct gw_http_client {
    struct soap *soap;
};

gw_http_client *gw_http_client_new(void)
{
    gw_http_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->soap = soap_new1(SOAP_IO_KEEPALIVE);
    if (!c->soap) {
        free(c);
        return NULL;
    }
    /* An https:// provider is verified against the system CA store. */
    c->soap->max_keep_alive = 0; /* unlimited requests per connection */
    return c;
}

void gw_http_client_free(gw_http_client *c)
{
    if (!c)
        return;
    soap_closesock(c->soap);
    soap_destroy(c->soap);
    soap_end(c->soap);
    soap_free(c->soap);
    free(c);
}

/* One attempt. Returns the gSOAP error (SOAP_OK when a response body was read). */
static int http_attempt(struct soap *s, const pide_http_request *req, const char *action,
                        const char *headers, char **body, size_t *len)
{
    s->http_extra_header = headers; /* gSOAP sends it once, with the next request head */
    int post = !req->method || strcmp(req->method, "GET") != 0;
    s->http_content = post ? (req->content_type ? req->content_type : "text/xml; charset=utf-8")
                           : NULL;
    if (soap_connect_command(s, post ? SOAP_POST_FILE : SOAP_GET, req->url, action))
        return s->error;
    if (post && req->body_len && soap_send_raw(s, req->body, req->body_len))
        return s->error;
    if (soap_end_send(s))
        return s->error;
    /* gSOAP reports a non-2xx status as an error from soap_begin_recv and has by then read
     * the body itself, keeping it as the fault detail: adapters need it either way (a JSON
     * 404 "not found" is an answer, not a failure). */
    int rc = soap_begin_recv(s);
    if (rc != SOAP_OK && !(rc >= 100 && rc < 600))
        return rc;
    if (rc == SOAP_OK) {
        *body = soap_http_get_body(s, len);
    } else {
        const char *detail = soap_fault_detail(s);
        *body = (char *)detail;
        *len = detail ? strlen(detail) : 0;
    }
    if (!*body) {
        *body = "";
        *len = 0;
    }
    soap_end_recv(s);
    return SOAP_OK;
}

gw_status gw_http_call(gw_http_client *c, gw_arena *arena, const pide_http_request *req,
                       const char *headers, pide_http_response *resp, char *err, size_t errlen)
{
    struct soap *s = c->soap;
    unsigned timeout_ms = req->timeout_ms ? req->timeout_ms : 5000;
    memset(resp, 0, sizeof *resp);
    if (!req->url) {
        gw_set_error(err, errlen, "no provider URL");
        return GW_ERR_PROVIDER_UNAVAILABLE;
    }
    s->connect_timeout = -(int)(timeout_ms * 1000);
    s->recv_timeout = -(int)(timeout_ms * 1000);
    s->send_timeout = -(int)(timeout_ms * 1000);
    s->transfer_timeout = -(int)(timeout_ms * 1000);

    /* gSOAP puts the quotes around SOAPAction itself; accept an action given quoted too. */
    char action[512];
    const char *act = req->soap_action;
    size_t alen = act ? strlen(act) : 0;
    if (alen >= 2 && act[0] == '"' && act[alen - 1] == '"' && alen - 2 < sizeof action) {
        memcpy(action, act + 1, alen - 2);
        action[alen - 2] = '\0';
        act = action;
    }
    char *body = NULL;
    size_t len = 0;
    double start = (gw_monotonic_ns() / 1e6);
    int reused = soap_valid_socket(s->socket);
    int rc = http_attempt(s, req, act, headers, &body, &len);
    if (rc != SOAP_OK && reused && (gw_monotonic_ns() / 1e6) - start < timeout_ms) {
        /* The kept-alive connection was closed by the provider while idle. */
        soap_closesock(s);
        start = (gw_monotonic_ns() / 1e6);
        rc = http_attempt(s, req, act, headers, &body, &len);
    }
    s->http_extra_header = NULL; /* the caller's memory: never left behind for a later call */
    if (rc != SOAP_OK) {
        double elapsed = (gw_monotonic_ns() / 1e6) - start;
        gw_status st = elapsed + 5 >= timeout_ms ? GW_ERR_PROVIDER_TIMEOUT
                                                 : GW_ERR_PROVIDER_UNAVAILABLE;
        if (st == GW_ERR_PROVIDER_TIMEOUT) {
            gw_set_error(err, errlen, "no answer from %s within %u ms", req->url, timeout_ms);
        } else {
            char why[256];
            soap_sprint_fault(s, why, sizeof why);
            for (char *p = why; *p; p++)
                if (*p == '\n' || *p == '\r')
                    *p = ' ';
            gw_set_error(err, errlen, "%s: %s", req->url, why);
        }
        soap_closesock(s);
        soap_end(s);
        return st;
    }
    resp->status = s->status;
    resp->content_type = s->http_content ? gw_arena_strdup(arena, s->http_content) : NULL;
    resp->body = gw_arena_strndup(arena, body, len);
    resp->body_len = len;
    if (!s->keep_alive)
        soap_closesock(s);
    soap_end(s); /* gSOAP's own per-call memory */
    return resp->body ? GW_OK : GW_ERR_NOMEM;
}
