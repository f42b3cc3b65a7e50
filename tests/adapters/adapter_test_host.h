/*
 * adapter_test_host.h — a small real host for testing adapter plugins outside the gateway.
 *
 * It does what the gateway does around handle(), with real components only: dlopen()s the
 * plugin and runs the loader's first checks, hands it a complete pide_host_api (every member,
 * including set_caller_audit and sign_document), gives each exchange its own arena, makes
 * real HTTP/1.1 calls over loopback sockets (GET and POST, timeouts), parses the request from a
 * SOAP envelope string and records what the adapter declared (subject, purpose, result code,
 * caller audit, what it sent to the provider), so tests assert on them. host->identity()
 * answers the ath_service's identity (NULL when its member is unset). It also starts and
 * stops simulator binaries on port 0 through --port-file.
 *
 * Test equipment: http_call understands only "http://127.0.0.1:PORT/path" URLs, reads the
 * whole answer up to 1 MiB and closes the connection after each call (no keep-alive).
 *
 * sign_document: signs with lib/xml_sign (so the test links pide_common) using
 * $PIDE_TEST_PKI_DIR/gateway-sign.key and gateway-sign.pem, the key the "pki" ctest fixture
 * makes: register the test with FIXTURES pki to use it. Without PIDE_TEST_PKI_DIR, or when the
 * key cannot be loaded, it logs why into the exchange log and returns PIDE_ERR_INTERNAL (the
 * gateway's own answer when it cannot sign). ath_shutdown() releases the key.
 *
 * Helpers that set up the test (ath_load_adapter, ath_sim_start, ath_run, ath_schema_load) and
 * the assertions on an adapter's answer (ath_find, ath_checked_return) fail the running Check
 * test on error; they are meant to be called from tests and fixtures.
 */
#ifndef PIDE_ADAPTER_TEST_HOST_H
#define PIDE_ADAPTER_TEST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include "pide_adapter.h"

/* Everything the adapter declared or did during one exchange. Strings are "" when unset. */
struct pide_exchange {
    const pide_service_config *cfg;
    struct ath_chunk *chunks;          /* the per-exchange arena, freed by ath_outcome_free() */
    char subject[112];                 /* "TYPE:ID", e.g. "CE:001234567" */
    char subject_type[32];
    char subject_id[80];
    char purpose[256];
    char procedure[256];
    char result_code[16];
    bool caller_audit_set;
    char audit_host_name[128];         /* set_caller_audit() arguments; NULL recorded as "" */
    char audit_ip[64];
    char audit_user_name[128];
    char audit_mac[64];
    unsigned http_calls;               /* how many times http_call() was used */
    unsigned signatures;               /* how many documents sign_document() signed */
    char sent_method[8];               /* the last provider call: */
    char sent_url[512];
    char sent_action[128];             /* SOAPAction as given (unquoted), "" for none */
    char *sent_body;                   /* in exchange memory; NULL for a GET */
    char sent_headers[512];            /* http_call_headers(): "Name: value\r\n" lines */
    char log[4096];                    /* host->log() lines with this ex */
    const pide_identity *identity;     /* what host->identity() answers (the service's) */
};

/* The host function table (static, complete for this ABI). */
const pide_host_api *ath_host(void);
/* Lines logged with ex == NULL (init/fini), for assertions. Thread-safe to write, read it
 * when no adapter runs. */
const char *ath_global_log(void);
void ath_global_log_clear(void);
/* Releases the signing key, if sign_document loaded it. */
void ath_shutdown(void);

/* dlopen()s the plugin and returns its descriptor; *handle gets the dlopen handle. */
const pide_adapter *ath_load_adapter(const char *so_path, void **handle);

/* One configured service bound to an adapter. */
typedef struct ath_service {
    const pide_adapter *adapter;
    char url[256];
    pide_service_config cfg;
    void *instance;
    /* The authenticated caller host->identity() reports for this service's exchanges; set
     * identity.member (and the rest) to give one, leave it zeroed for none (NULL). */
    pide_identity identity;
} ath_service;

/* Fills cfg (the url is copied; names/values must outlive the service) and runs init(). */
pide_result ath_service_init(ath_service *s, const pide_adapter *adapter,
                             const char *service_name, const char *endpoint_url,
                             unsigned timeout_ms, size_t param_count,
                             const char *const *param_names, const char *const *param_values);
void ath_service_fini(ath_service *s);

/* One exchange as the gateway runs it. */
typedef struct ath_outcome {
    pide_exchange ex;
    pide_result rc;
    xmlDocPtr response_doc;            /* soap:Envelope with the soap:Body the adapter filled */
    xmlNodePtr response_body;
    xmlNodePtr answer;                 /* first element the adapter appended, or NULL */
} ath_outcome;

/* Parses `request_envelope` (a whole soap:Envelope), hands the first element child of its
 * soap:Body to handle() (the operation is that element's local name). Thread-safe. */
void ath_run(ath_service *s, const char *request_envelope, ath_outcome *o);
void ath_outcome_free(ath_outcome *o);

/* A simulator process started on port 0; its port is read from --port-file. */
typedef struct ath_sim {
    pid_t pid;
    unsigned port;
} ath_sim;

/* Runs `exe --port 0 --port-file F [extra_args...]` (extra_args NULL-terminated, may be NULL)
 * and waits up to 5 s for the port. */
ath_sim ath_sim_start(const char *exe, const char *const *extra_args);
/* SIGTERM, then waits for it. */
void ath_sim_stop(ath_sim *sim);
/* A loopback port nothing listens on (it was free a moment ago). */
unsigned ath_unused_port(void);

/* ---- assertions on an adapter's answer --------------------------------------------------- */

/* The child element `name` of parent (NULL allowed), or NULL; fails the test when that child
 * is namespace-qualified: the contracts' answers are unqualified below their root. */
xmlNodePtr ath_find(xmlNodePtr parent, const char *name);
/* The text of ath_find(parent, name) copied into buf, or NULL when there is no such child. */
char *ath_text(xmlNodePtr parent, const char *name, char *buf, size_t cap);

/* Parses a contract's XSD; fails the test when it cannot. */
xmlSchemaPtr ath_schema_load(const char *xsd_path);

/* What an adapter must answer: ns:response/return/result_element, valid by schema. */
typedef struct ath_contract {
    const char *ns;
    const char *response;              /* e.g. "consultarResponse" */
    const char *result_element;        /* e.g. "coResultado", the answer's result code */
    xmlSchemaPtr schema;
} ath_contract;

/* Asserts the exchange succeeded and appended the contract's response, valid by its XSD, whose
 * result element holds `code`, and that the adapter declared `code` as the result code.
 * Returns the response's return element. */
xmlNodePtr ath_checked_return(const ath_contract *contract, const ath_outcome *o,
                              const char *code);

/* One exchange of a concurrency test, for key n (the test turns it into a document number):
 * true when the answer is right. */
typedef bool (*ath_exchange_ok)(ath_service *s, int n);

/* handle() runs concurrently with one instance in the gateway: runs 4 threads at once on s,
 * thread i checking keys first[i] .. first[i] + per_thread - 1, and asserts that every exchange
 * was right. */
void ath_assert_concurrent(ath_service *s, const int first[4], int per_thread,
                           ath_exchange_ok exchange_ok);

/* Runs the suite with SIGPIPE ignored (a provider may close its end first); returns the exit
 * status for main(). */
int ath_run_suite(Suite *suite);

#endif
