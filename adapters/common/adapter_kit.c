/*
 * adapter_kit.c — instance boilerplate, code tables, identifier digit checks and the answer
 * parsing step shared by the in-tree adapter plugins (adapter_kit.h).
 */
#include "adapter_kit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "adapter_xml.h"

bool adapter_is_digits(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool adapter_is_dni(const char *s)
{
    return adapter_is_digits(s, ADAPTER_DNI_DIGITS);
}

bool adapter_is_ruc(const char *s)
{
    return adapter_is_digits(s, ADAPTER_RUC_DIGITS);
}

bool adapter_is_ce(const char *s)
{
    return adapter_is_digits(s, ADAPTER_CE_DIGITS);
}

const adapter_code *adapter_code_find(const adapter_code *table, size_t count,
                                      const char *provider)
{
    for (size_t i = 0; provider && i < count; i++)
        if (strcmp(provider, table[i].provider) == 0)
            return &table[i];
    return NULL;
}

pide_result adapter_instance_new(const pide_host_api *host, const pide_service_config *cfg,
                                 const char *adapter, const char *endpoint_role, size_t size,
                                 void **out)
{
    const char *service = cfg->service_name ? cfg->service_name : "(unnamed)";
    if (!cfg->endpoint_url || !*cfg->endpoint_url) {
        host->log(NULL, PIDE_LOG_ERROR, "%s adapter, service %s: no endpoint URL (%s) configured",
                  adapter, service, endpoint_role);
        return PIDE_ERR_CONFIG;
    }
    if (size < sizeof(adapter_instance))
        return PIDE_ERR_INTERNAL;
    adapter_instance *in = calloc(1, size);
    if (!in)
        return PIDE_ERR_NOMEM;
    in->host = host;
    in->service_name = strdup(service);
    in->endpoint_url = strdup(cfg->endpoint_url);
    if (!in->service_name || !in->endpoint_url) {
        adapter_instance_free(in);
        return PIDE_ERR_NOMEM;
    }
    /* Whatever the adapter parses later, the parser is initialised before worker threads. */
    xmlInitParser();
    *out = in;
    return PIDE_OK;
}

void adapter_instance_free(void *instance)
{
    adapter_instance *in = instance;
    if (!in)
        return;
    free(in->service_name);
    free(in->endpoint_url);
    free(in);
}

const char *adapter_param(const pide_host_api *host, const pide_service_config *cfg,
                          const char *name, const char *fallback)
{
    const char *v = host->config_param(cfg, name);
    return v ? v : fallback;
}

bool adapter_is_provider_failure(pide_result rc)
{
    return rc == PIDE_ERR_PROVIDER_TIMEOUT || rc == PIDE_ERR_PROVIDER_UNAVAILABLE ||
           rc == PIDE_ERR_PROVIDER_BAD_RESPONSE;
}

pide_result adapter_xml_answer(const pide_host_api *host, pide_exchange *ex, const char *who,
                               const pide_http_response *resp, xmlDocPtr *out)
{
    *out = NULL;
    if (!resp->body || resp->body_len == 0 || resp->body_len > INT_MAX) {
        host->log(ex, PIDE_LOG_WARN, "%s answered an empty or oversized body", who);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    *out = adapter_parse_answer(resp->body, resp->body_len);
    if (!*out) {
        host->log(ex, PIDE_LOG_WARN, "%s answer is not acceptable XML", who);
        return PIDE_ERR_PROVIDER_BAD_RESPONSE;
    }
    return PIDE_OK;
}
