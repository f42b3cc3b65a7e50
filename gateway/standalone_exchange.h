/*
 * standalone_exchange.h — gateway exchanges outside the server, for tools that drive an adapter
 * through the gateway's real host services without a listener, a catalog or an exchange log.
 *
 * pide-adapter-check (tools/) uses it to run an adapter the way the daemon does: the host table
 * from gw_host_api_init(), one configured service bound to the adapter (its init() called with
 * that service's configuration), workers with the real provider HTTP client and, when a key is
 * given, a real signing context, the service's XSD validating requests as the validate stage
 * does, and each exchange a real gw_exchange with its arena. Nothing is sent to a caller and
 * nothing is logged to PostgreSQL: the tool inspects the exchange instead.
 *
 * Threading: open/close on one thread; gw_standalone_run() may run concurrently for distinct
 * worker indexes (each worker owns its exchange, HTTP client and signing context), which is how
 * the daemon calls handle().
 */
#ifndef PIDE_GW_STANDALONE_EXCHANGE_H
#define PIDE_GW_STANDALONE_EXCHANGE_H

#include <stddef.h>

#include <libxml/tree.h>

#include "config.h"
#include "exchange.h"
#include "pide_adapter.h"
#include "status.h"
#include "xml_sign.h"

typedef struct gw_standalone gw_standalone;

/* The one service the adapter is bound to, as a <service> of the configuration would give it. */
typedef struct gw_standalone_service {
    const char *name;            /* e.g. "ReniecConsultaDni" */
    const char *endpoint_url;    /* may be NULL: the adapter's init() decides if that is fine */
    unsigned timeout_ms;         /* 0: 5000 */
    const gw_param *params;      /* <param name= value=> pairs */
    size_t param_count;
    const char *schema_path;     /* XSD requests are validated against; NULL: no validation */
    gw_signer *signer;           /* NULL: sign_document() fails, as with no key */
    int workers;                 /* concurrent runners; < 1 means 1 */
} gw_standalone_service;

/* Binds `adapter` (from gw_adapter_load, must outlive the result) to the service and calls its
 * init(). On failure *out is NULL and err says why; when init() itself refused, the status is
 * GW_ERR_CONFIG (GW_ERR_NOMEM for PIDE_ERR_NOMEM) and *init_result (if not NULL) holds what it
 * returned. An unreadable or invalid schema gives GW_ERR_CONFIG too. */
gw_status gw_standalone_open(const pide_adapter *adapter, const gw_standalone_service *svc,
                             gw_standalone **out, pide_result *init_result, char *err,
                             size_t errlen);
/* Calls the adapter's fini() (when it has one) and frees everything. NULL is accepted. */
void gw_standalone_close(gw_standalone *s);

/* What one exchange came to. Pointers stay valid until the worker's next run or close. */
typedef struct gw_standalone_outcome {
    gw_status status;            /* GW_OK, or what the gateway would end the exchange with */
    int handle_called;           /* 0 when the request was refused before the adapter */
    pide_result handle_result;   /* what handle() returned (when called) */
    const gw_exchange *exchange; /* subject, result code, fault_detail, timestamps... */
    xmlNodePtr response;         /* the element the adapter appended to soap:Body, or NULL */
} gw_standalone_outcome;

/* Runs one exchange on worker `worker` (0 .. workers-1): a copy of `operation` (an operation
 * element as it would stand in soap:Body) becomes the request, and the daemon's own route,
 * validate (when a schema was given) and invoke stages run on it from the stage table
 * (gw_pipeline_run_stages): the namespace and operation checks, the schema, handle(). The
 * previous exchange of that worker is ended first. */
gw_status gw_standalone_run(gw_standalone *s, int worker, xmlNodePtr operation,
                            gw_standalone_outcome *out);

#endif
