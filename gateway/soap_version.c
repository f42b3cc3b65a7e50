/* soap_version.c — which SOAP version an exchange speaks, decided once (soap_version.h). */
#include "soap_version.h"

#include <string.h>
#include <strings.h>

#include "namespaces.h"

const char *gw_soap_version_ns(gw_soap_version v)
{
    return v == GW_SOAP_12 ? GW_SOAP12_NS : GW_SOAP11_NS;
}

const char *gw_soap_version_name(gw_soap_version v) { return v == GW_SOAP_12 ? "1.2" : "1.1"; }

const char *gw_soap_version_content_type(gw_soap_version v)
{
    return v == GW_SOAP_12 ? "application/soap+xml; charset=utf-8" : "text/xml; charset=utf-8";
}

int gw_soap_version_of_content_type(const char *ct, gw_soap_version *out)
{
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    if (n == strlen("text/xml") && strncasecmp(ct, "text/xml", n) == 0) {
        *out = GW_SOAP_11;
        return 1;
    }
    if (n == strlen("application/soap+xml") && strncasecmp(ct, "application/soap+xml", n) == 0) {
        *out = GW_SOAP_12;
        return 1;
    }
    return 0;
}

int gw_soap_version_action_param(const char *ct, char *out, size_t outlen)
{
    if (!ct || outlen == 0)
        return 0;
    const char *p = strchr(ct, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "action", 6) == 0) {
            const char *v = p + 6;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v == '=') {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                size_t n;
                if (*v == '"') {
                    v++;
                    const char *end = strchr(v, '"');
                    if (!end)
                        return 0;
                    n = (size_t)(end - v);
                } else {
                    n = strcspn(v, "; \t");
                }
                if (n == 0 || n >= outlen)
                    return 0;
                memcpy(out, v, n);
                out[n] = '\0';
                return 1;
            }
        }
        p = strchr(p, ';');
    }
    return 0;
}

gw_status gw_soap_version_decide(const char *content_type, xmlNodePtr env, gw_soap_version *out,
                                 char *err, size_t errlen)
{
    const char *href = env && env->ns && env->ns->href ? (const char *)env->ns->href : "";
    gw_soap_version by_ct = GW_SOAP_11;
    int ct_known = gw_soap_version_of_content_type(content_type, &by_ct);
    gw_soap_version by_env;
    if (strcmp(href, GW_SOAP11_NS) == 0) {
        by_env = GW_SOAP_11;
    } else if (strcmp(href, GW_SOAP12_NS) == 0) {
        by_env = GW_SOAP_12;
    } else if (!*href) {
        /* No namespace at all: not a SOAP message (Client.NotSoap, as before), not a version. */
        *out = GW_SOAP_11;
        gw_set_error(err, errlen, "the root element is not soap:Envelope (no namespace)");
        return GW_ERR_NOT_SOAP;
    } else {
        *out = GW_SOAP_11;
        gw_set_error(err, errlen, "the Envelope's namespace '%.200s' is neither SOAP 1.1's nor "
                     "SOAP 1.2's", href);
        return GW_ERR_VERSION_MISMATCH;
    }
    if (ct_known && by_ct != by_env) {
        *out = by_ct;
        gw_set_error(err, errlen, "a SOAP %s Envelope sent as %s (SOAP %s uses %s)",
                     gw_soap_version_name(by_env), by_ct == GW_SOAP_12 ? "application/soap+xml"
                                                                       : "text/xml",
                     gw_soap_version_name(by_env),
                     by_env == GW_SOAP_12 ? "application/soap+xml" : "text/xml");
        return GW_ERR_VERSION_MISMATCH;
    }
    *out = by_env;
    return GW_OK;
}

const char *gw_soap12_fault_class(gw_status st)
{
    if (st == GW_ERR_VERSION_MISMATCH)
        return "VersionMismatch";
    const char *code = gw_status_fault_code(st);
    return strncmp(code, "Client.", 7) == 0 ? "Sender" : "Receiver";
}

int gw_soap_version_fault_http(gw_soap_version v, gw_status st)
{
    int http = gw_status_http_code(st);
    if (v != GW_SOAP_12 || http != 500 || st == GW_ERR_VERSION_MISMATCH)
        return http;
    return strcmp(gw_soap12_fault_class(st), "Sender") == 0 ? 400 : 500;
}
