/*
 * pide_adapter.h — the one public header of the pide-gateway adapter plugin ABI.
 *
 * An adapter is a shared object that translates one consumer-facing SOAP contract into a
 * provider agency's own protocol. It exports exactly one symbol, PIDE_ADAPTER_ENTRY_SYMBOL,
 * returning a pide_adapter descriptor that starts with the ABI version, its own size and the
 * libxml2 major version it was compiled against (so the host can refuse a plugin built against
 * another ABI, or handing it libxml2 trees of another layout, before touching anything else),
 * then the name, the operations it serves, its lifecycle functions and the configuration
 * parameters it accepts (pide_param_decl: the host validates a service's <param> elements
 * against them and applies their defaults before init() runs).
 *
 * The host hands the adapter its services as a function table (pide_host_api), so an adapter
 * never links against the daemon: it links only libxml2 (the request and response are libxml2
 * trees) and whatever its provider protocol needs.
 *
 * Threading: init() and fini() run once per configured service, on one thread, at start-up and
 * shut-down. handle() runs concurrently on many worker threads with the same instance pointer:
 * keep the instance read-only after init(), or protect what you mutate.
 *
 * Memory: everything an adapter needs for one exchange comes from host->alloc() / host->strdup()
 * and is released by the host when the exchange ends. libxml2 nodes appended under
 * call->response_body belong to the response document, which the host frees.
 *
 * See docs/adapter-abi.md for the rules and docs/integrator-guide.md for a walk-through.
 */
#ifndef PIDE_ADAPTER_H
#define PIDE_ADAPTER_H

#include <stddef.h>
#include <stdint.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change. Compatible additions append members to the end of a
 * struct and are detected through its struct_size, so the version stays. */
#define PIDE_ADAPTER_ABI_VERSION 2u

/* The libxml2 major version (LIBXML_VERSION / 10000) this header is compiled against. The ABI
 * passes xmlNodePtr both ways, so host and adapter must agree on it; the host refuses an
 * adapter whose descriptor records another one. */
#define PIDE_ADAPTER_LIBXML2_MAJOR ((uint32_t)(LIBXML_VERSION / 10000))

/* The one symbol an adapter exports. */
#define PIDE_ADAPTER_ENTRY_SYMBOL "pide_adapter_entry"

/* What handle() and init() return. The host maps each to a stable SOAP Fault code. */
typedef enum pide_result {
    PIDE_OK = 0,
    PIDE_ERR_BAD_REQUEST,           /* the request cannot be translated: Client.BadRequest */
    PIDE_ERR_PROVIDER_TIMEOUT,      /* Server.Provider.Timeout */
    PIDE_ERR_PROVIDER_UNAVAILABLE,  /* Server.Provider.Unavailable (connect refused, 5xx...) */
    PIDE_ERR_PROVIDER_BAD_RESPONSE, /* Server.Provider.BadResponse (unparseable, wrong shape) */
    PIDE_ERR_CONFIG,                /* init(): missing or invalid configuration parameter */
    PIDE_ERR_NOMEM,
    PIDE_ERR_INTERNAL               /* Server.Adapter */
} pide_result;

typedef enum pide_log_level {
    PIDE_LOG_ERROR = 0,
    PIDE_LOG_WARN,
    PIDE_LOG_INFO,
    PIDE_LOG_DEBUG
} pide_log_level;

/* The host's per-exchange context; opaque to adapters. */
typedef struct pide_exchange pide_exchange;

/* One configured service that uses this adapter, as given to init(). */
typedef struct pide_service_config {
    const char *service_name;   /* e.g. "ReniecConsultaDni" */
    const char *endpoint_url;   /* the provider's address, e.g. "http://127.0.0.1:8091/..." */
    unsigned timeout_ms;        /* default timeout for calls to the provider */
    size_t param_count;         /* free-form <param name= value=> pairs from the configuration */
    const char *const *param_names;
    const char *const *param_values;
} pide_service_config;

/* An outbound HTTP call to a provider, made by the host (keep-alive, timeouts, timestamps). */
typedef struct pide_http_request {
    const char *url;            /* NULL: the service's endpoint_url */
    const char *method;         /* "GET" or "POST" */
    const char *content_type;   /* POST only, e.g. "text/xml; charset=utf-8" */
    const char *soap_action;    /* the action URI, unquoted (the host quotes it);
                                   NULL: no SOAPAction header */
    const char *body;           /* POST only */
    size_t body_len;
    unsigned timeout_ms;        /* 0: the service's timeout_ms */
} pide_http_request;

typedef struct pide_http_response {
    int status;                 /* HTTP status code */
    const char *content_type;   /* may be NULL */
    const char *body;           /* NUL-terminated, in exchange memory */
    size_t body_len;
} pide_http_response;

/* One exchange handed to handle(). */
typedef struct pide_call {
    const char *service_name;
    const char *operation;      /* local name of the operation element, e.g. "consultar" */
    xmlNodePtr request;         /* the operation element inside the request's soap:Body;
                                   already validated against the service's XSD */
    xmlNodePtr response_body;   /* the response's soap:Body: append the response element here */
} pide_call;

/* Who asked, as the gateway authenticated it (pide_host_api.identity). Use these values, not the
 * request's own fields, wherever the provider is told which entity or official is asking: the
 * provider and the exchange log then agree. Strings live as long as the exchange. */
typedef struct pide_identity {
    uint32_t struct_size;       /* sizeof(pide_identity) of the host: check before newer members */
    const char *member;         /* the member agency's RUC (11 digits) */
    const char *member_name;    /* its name in the configuration */
    const char *subsystem;      /* pgw:client/subsystemCode the member declared; may be NULL */
    const char *official;       /* the official's DNI: the legacy credentials' (authenticated),
                                   else pgw:userId or the body's official field as the
                                   authenticated member declared it; may be NULL */
    const char *auth_method;    /* "mtls", "wss-signature", "legacy-password", "declared-header" */
    const char *cert_sha256;    /* hex SHA-256 of the member's certificate (TLS client, else
                                   request signer); NULL without a certificate */
    const char *institution_code; /* the code providers know the member by (<member
                                   institutionCode>), its RUC when none is configured */
} pide_identity;

/* A WS-Security signing key the host holds for one service (pide_host_api.wss_signer_open);
 * opaque to adapters. */
typedef struct pide_wss_signer pide_wss_signer;

/* The host's services. Check struct_size before using members added after version 1. */
typedef struct pide_host_api {
    uint32_t abi_version;
    uint32_t struct_size;

    /* Per-exchange memory, freed by the host when the exchange ends. */
    void *(*alloc)(pide_exchange *ex, size_t size);
    char *(*strdup)(pide_exchange *ex, const char *s);

    /* Operational log (not the exchange log). ex may be NULL outside an exchange. */
    void (*log)(pide_exchange *ex, pide_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* A configuration parameter of the service, or NULL when it is not set. */
    const char *(*config_param)(const pide_service_config *cfg, const char *name);

    /* Calls the provider. Records the provider-out and provider-in timestamps of the exchange.
     * Returns PIDE_OK when an HTTP response arrived (any status), PIDE_ERR_PROVIDER_TIMEOUT or
     * PIDE_ERR_PROVIDER_UNAVAILABLE otherwise. */
    pide_result (*http_call)(pide_exchange *ex, const pide_http_request *req,
                             pide_http_response *resp);

    /* Whom the exchange is about, logged as searchable columns: e.g. ("DNI", "45678912"). */
    void (*set_subject)(pide_exchange *ex, const char *id_type, const char *id);
    /* Why it was asked: the declared purpose and the procedure/case it serves (may be NULL). */
    void (*set_purpose)(pide_exchange *ex, const char *purpose, const char *procedure);
    /* The contract's own result code (coResultado, strNumRespuesta...), logged with the row. */
    void (*set_result_code)(pide_exchange *ex, const char *code);

    /* Signs an outbound document with the gateway's key (enveloped XML-DSig, exclusive C14N,
     * SHA-256); the ds:Signature element is appended to `parent`. */
    pide_result (*sign_document)(pide_exchange *ex, xmlDocPtr doc, xmlNodePtr parent);

    /* The calling machine and person as the request itself declares them (PIDE's audit
     * fields: xAudNombrePC, xAudIP, xAudNombreUsuario, xAudDireccionMAC; strNroIp, strMac),
     * logged as searchable columns beside the authenticated identity. Any may be NULL. */
    void (*set_caller_audit)(pide_exchange *ex, const char *host_name, const char *ip,
                             const char *user_name, const char *mac);

    /* Added after version 1 (check with PIDE_HOST_HAS): the authenticated caller of this
     * exchange, or NULL when the host has none (e.g. a standalone check run). */
    const pide_identity *(*identity)(pide_exchange *ex);

    /* Added after version 1 (check with PIDE_HOST_HAS): WS-Security signatures on requests to a
     * provider that demands them, made by the gateway's own WS-Security code (the profile it
     * verifies on its members' requests: wsu:Timestamp, the certificate as
     * wsse:BinarySecurityToken, ds:Signature over the Body and the Timestamp, exclusive C14N,
     * SHA-256). wss_signer_open, from init() only: loads a PEM private key (mode 0600 or
     * stricter) and its PEM certificate; NULL after logging why. wss_sign: adds wsse:Security
     * (Timestamp valid for ttl_seconds) to the SOAP 1.1 or 1.2 Envelope `envelope`;
     * PIDE_ERR_INTERNAL after logging why. wss_signer_close, from fini(): NULL is accepted. */
    pide_wss_signer *(*wss_signer_open)(const pide_service_config *cfg, const char *key_pem_path,
                                        const char *cert_pem_path);
    pide_result (*wss_sign)(pide_exchange *ex, pide_wss_signer *signer, xmlDocPtr envelope,
                            int ttl_seconds);
    void (*wss_signer_close)(pide_wss_signer *signer);

    /* Added after version 1 (check with PIDE_HOST_HAS): the absolute folder of the configuration
     * file the services come from, without a trailing '/'. Resolve a relative path a parameter
     * names (a stylesheet, a schema) against it, as the gateway resolves its own paths; `host` is
     * the table init() received. NULL when the host has no configuration file (pide-adapter-check:
     * relative paths are then the working directory's). Valid until fini(). */
    const char *(*config_dir)(const struct pide_host_api *host);

    /* Added after version 1 (check with PIDE_HOST_HAS): http_call with `count` extra request
     * headers (names[i]: values[i]), e.g. an Accept or an API version a provider requires. A
     * name must be an HTTP token (1-64 characters) and not one the host writes itself (Host,
     * Content-Length, Content-Type, Transfer-Encoding, Connection, Keep-Alive, TE, Trailer,
     * Upgrade, Expect, Proxy-*, SOAPAction, traceparent, tracestate): PIDE_ERR_INTERNAL, logged.
     * A value must be 0-1024 characters of visible text, spaces and tabs (no CR, LF or other
     * control character, which would let request data forge headers): PIDE_ERR_BAD_REQUEST.
     * At most 16 headers. Values are never logged. */
    pide_result (*http_call_headers)(pide_exchange *ex, const pide_http_request *req,
                                     const char *const *names, const char *const *values,
                                     size_t count, pide_http_response *resp);
} pide_host_api;

/* True when `host` (a const pide_host_api *) has member `m` set: members appended after
 * version 1 exist only in hosts whose struct_size covers them. */
#define PIDE_HOST_HAS(host, m)                                                         \
    ((host)->struct_size >= offsetof(pide_host_api, m) + sizeof((host)->m) && (host)->m != NULL)

/* The type of a configuration parameter's value, as the host checks it before init(). */
typedef enum pide_param_type {
    PIDE_PARAM_STRING = 0,      /* any text, empty included */
    PIDE_PARAM_INT,             /* a decimal integer that fits an int: -?[0-9]+ */
    PIDE_PARAM_BOOL,            /* true, false, 1 or 0 (xsd:boolean) */
    PIDE_PARAM_URL              /* http:// or https:// and a host, no spaces or control bytes */
} pide_param_type;

/* One configuration parameter an adapter accepts (<param name= value=> of its services), the way
 * Redis and nginx modules declare their directives. The host refuses a service that gives an
 * undeclared parameter, leaves out a required one or gives a value of the wrong type, naming
 * the service, the parameter and the adapter; a declared default is handed to init() (through
 * config_param) when the service does not give the parameter. */
typedef struct pide_param_decl {
    const char *name;           /* NULL ends the list */
    pide_param_type type;
    int required;               /* 1: the service must give it (then default_value is NULL) */
    const char *default_value;  /* what config_param() returns when not given; NULL: nothing */
    const char *description;    /* one line, listed by pide-adapter-check */
} pide_param_decl;

/* What the adapter exports. */
typedef struct pide_adapter {
    uint32_t abi_version;       /* PIDE_ADAPTER_ABI_VERSION the adapter was built with */
    uint32_t struct_size;       /* sizeof(pide_adapter) the adapter was built with */
    uint32_t libxml2_major;     /* PIDE_ADAPTER_LIBXML2_MAJOR the adapter was built with */
    const char *name;           /* e.g. "reniec"; unique among loaded adapters */
    const char *version;        /* the adapter's own version, for logs */
    const char *const *operations; /* NULL-terminated operation element names it handles;
                                   {"*", NULL}: whatever each service's configuration says
                                   (handle() then refuses the others with BAD_REQUEST) */

    /* Once per configured service. Store what handle() needs in *instance. */
    pide_result (*init)(const pide_host_api *host, const pide_service_config *cfg,
                        void **instance);
    /* Once per exchange, concurrently on many threads. */
    pide_result (*handle)(void *instance, pide_exchange *ex, const pide_call *call);
    /* Once per configured service at shut-down; may be NULL. */
    void (*fini)(void *instance);
    /* The parameters its services may give, ended by an entry whose name is NULL; NULL: the
     * adapter takes no parameters (any <param> is then refused). */
    const pide_param_decl *params;
} pide_adapter;

typedef const pide_adapter *(*pide_adapter_entry_fn)(void);

/* Exports the entry point returning `descriptor` (a static const pide_adapter). */
#define PIDE_ADAPTER_EXPORT(descriptor)                                              \
    __attribute__((visibility("default"))) const pide_adapter *pide_adapter_entry(void); \
    const pide_adapter *pide_adapter_entry(void) { return &(descriptor); }

/* Initialiser for the three leading members. */
#define PIDE_ADAPTER_HEADER                                                          \
    PIDE_ADAPTER_ABI_VERSION, (uint32_t)sizeof(pide_adapter), PIDE_ADAPTER_LIBXML2_MAJOR

#ifdef __cplusplus
}
#endif

#endif /* PIDE_ADAPTER_H */
