/*
 * adapter_kit.h — what every in-tree adapter plugin repeated before it moved here: the instance
 * every adapter keeps per service (host table, service name, endpoint) and its allocation and
 * release, reading optional parameters, the table that turns a provider's answer code into the
 * contract's, the digit checks of Peruvian identifiers (DNI, RUC, carné de extranjería) and the
 * "the provider's answer must be acceptable XML" step.
 *
 * Linked like adapter_xml (static, PIC, hidden): each plugin carries its own copy.
 */
#ifndef PIDE_ADAPTER_KIT_H
#define PIDE_ADAPTER_KIT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "pide_adapter.h"

/* ---- identifiers ------------------------------------------------------------------------- */

#define ADAPTER_DNI_DIGITS 8   /* documento nacional de identidad */
#define ADAPTER_RUC_DIGITS 11  /* registro único de contribuyentes */
#define ADAPTER_CE_DIGITS 9    /* carné de extranjería, as Migraciones numbers it */

/* s is exactly n ASCII digits (NULL is not). */
bool adapter_is_digits(const char *s, size_t n);
bool adapter_is_dni(const char *s);
bool adapter_is_ruc(const char *s);
bool adapter_is_ce(const char *s);

/* ---- provider code -> contract code --------------------------------------------------------- */

/* One row of a translation table: the provider's code, what the contract says for it and an
 * adapter-specific flag (e.g. "this answer carries a person"). */
typedef struct adapter_code {
    const char *provider;
    const char *contract;
    const char *text;      /* the contract's description; may be NULL */
    bool flag;
} adapter_code;

/* The row whose provider code is `provider`, or NULL (also for a NULL provider). */
const adapter_code *adapter_code_find(const adapter_code *table, size_t count,
                                      const char *provider);
#define ADAPTER_CODE_FIND(table, provider)                                                 \
    adapter_code_find((table), sizeof(table) / sizeof((table)[0]), (provider))

/* ---- the per-service instance ---------------------------------------------------------- */

/* The first member of every in-tree adapter's instance. */
typedef struct adapter_instance {
    const pide_host_api *host;
    char *service_name;
    char *endpoint_url;
} adapter_instance;

/* init()'s common part: refuses (PIDE_ERR_CONFIG, after logging "<adapter> adapter, service S:
 * no endpoint URL (<endpoint_role>) configured") a service without an endpoint, then allocates
 * `size` zeroed bytes (a struct whose first member is adapter_instance) and fills the base
 * from host and cfg. PIDE_ERR_NOMEM when memory runs out. */
pide_result adapter_instance_new(const pide_host_api *host, const pide_service_config *cfg,
                                 const char *adapter, const char *endpoint_role, size_t size,
                                 void **out);
/* Frees the base's copies and the instance; NULL is accepted. Free your own members first. */
void adapter_instance_free(void *instance);

/* The service's parameter `name`, or `fallback` when the host has none (a gateway applies the
 * declared default itself; a host that does not declare still gets the same value). */
const char *adapter_param(const pide_host_api *host, const pide_service_config *cfg,
                          const char *name, const char *fallback);

/* ---- the provider's answer ------------------------------------------------------------------ */

/* true for the results that mean "the provider gave no usable answer" (timeout, unavailable,
 * bad response): the ones an adapter declares its contract's "service unavailable" code for. */
bool adapter_is_provider_failure(pide_result rc);

/* The body of an HTTP answer parsed by adapter_parse_answer(); PIDE_ERR_PROVIDER_BAD_RESPONSE,
 * logged as "<who> answered an empty or oversized body" or "<who> answer is not acceptable
 * XML", when it is empty, larger than INT_MAX or not acceptable. The caller frees *out. */
pide_result adapter_xml_answer(const pide_host_api *host, pide_exchange *ex, const char *who,
                               const pide_http_response *resp, xmlDocPtr *out);

/* ---- XPath parameters --------------------------------------------------------------------- */

/* What the exchange log records as columns is often named by configuration, as XPath 1.0
 * expressions on a document (the operation element as its root, or the provider's answer).
 * `namespaces` binds the prefixes those expressions use: "p=urn:a q=urn:b" (space-separated
 * prefix=URI pairs; NULL or "" binds none). */

/* At init: the namespaces parameter `param` is well formed (prefixes are NCNames without ':',
 * URIs non-empty, no prefix twice). Logs "<adapter> adapter, service S: parameter P ..." and
 * returns false otherwise. */
bool adapter_xpath_namespaces_ok(const pide_host_api *host, const char *adapter,
                                 const char *service, const char *param, const char *namespaces);

/* At init: `expr` (parameter `param`) compiles as XPath 1.0 and, evaluated once on an empty
 * document with the prefixes of `namespaces`, names no unknown prefix or function. Logs "<adapter>
 * adapter, service S: parameter P '<expr>' is not an XPath 1.0 expression (why)" and returns false
 * otherwise. */
bool adapter_xpath_ok(const pide_host_api *host, const char *adapter, const char *service,
                      const char *param, const char *expr, const char *namespaces);

/* string(expr) evaluated on doc (the document node as context) with the prefixes of
 * `namespaces`, in exchange memory; NULL on an error or an empty string. */
const char *adapter_xpath_string(const pide_host_api *host, pide_exchange *ex, xmlDocPtr doc,
                                 const char *expr, const char *namespaces);

/* A file parameter's path: a relative one against the configuration file's folder when the host
 * tells it (pide_host_api.config_dir), else as given (the working directory's). Written to buf;
 * NULL when it does not fit. */
const char *adapter_file_path(const pide_host_api *host, const char *path, char *buf, size_t cap);

/* At init: the XSD file of parameter `param` (resolved by adapter_file_path), parsed whole: a
 * warning too refuses it (libxml2 only warns when an xs:import cannot be loaded, and the process
 * never loads from the network). NULL after logging "<adapter> adapter, service S: P FILE: why". */
xmlSchemaPtr adapter_load_schema(const pide_host_api *host, const char *adapter,
                                 const char *service, const char *param, const char *path);

/* doc valid by schema: PIDE_OK; PIDE_ERR_PROVIDER_BAD_RESPONSE after logging "<adapter>: <what>
 * is not valid by responseSchema: <first error>"; PIDE_ERR_NOMEM or PIDE_ERR_INTERNAL when the
 * check itself could not run. */
pide_result adapter_validate(const pide_host_api *host, pide_exchange *ex, xmlSchemaPtr schema,
                             xmlDocPtr doc, const char *adapter, const char *what);

/* At init: parameter `operations` (the operation element names, space-separated) as
 * " op1 op2 ", malloc'd (the caller frees it); NULL after logging when it is missing or empty. */
char *adapter_operations(const pide_host_api *host, const pide_service_config *cfg,
                         const char *adapter, const char *service);

/* Whether the call's operation is one of `list` (from adapter_operations); when it is not, logs
 * "<adapter>: operation X is not configured for service S" (a schema's other global elements,
 * e.g. the response element, are not operations). */
bool adapter_operation_listed(const pide_host_api *host, pide_exchange *ex, const char *list,
                              const char *adapter, const pide_call *call);

/* The answer: a copy of `result` (an element of the adapter's own document) appended to the
 * call's response body, and `code` (may be NULL) set as the exchange's result code. PIDE_OK or
 * PIDE_ERR_NOMEM. */
pide_result adapter_deliver(const pide_host_api *host, pide_exchange *ex, const pide_call *call,
                            xmlNodePtr result, const char *code);

/* At init: a copy (malloc'd; the caller frees it) of parameter `name`, or NULL when it is absent
 * or empty; *ok becomes false when the copy could not be made. */
char *adapter_param_dup(const pide_host_api *host, const pide_service_config *cfg, const char *name,
                        bool *ok);

#endif
