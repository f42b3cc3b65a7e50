/*
 * config.h — the gateway's configuration: loaded once from an XML file validated against
 * schemas/gateway-config.xsd, then read-only: a reload (reload.h) loads a new one beside it.
 *
 * Errors name the file and line and say what is wrong ("conf/x.xml:12: service
 * 'ReniecConsultaDni': adapter 'renic' has no file build/adapters/renic.so").
 * Relative paths in the file are resolved against the directory of the configuration file.
 */
#ifndef PIDE_GW_CONFIG_H
#define PIDE_GW_CONFIG_H

#include <stddef.h>

#include "status.h"

typedef struct gw_param {
    char *name;
    char *value;
} gw_param;

/* A legacy PIDE credential: the official's DNI and a salted password hash
 * ("pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>"), never the password itself. */
typedef struct gw_legacy_credential {
    char *user_dni;
    char *password_hash;
} gw_legacy_credential;

/* A member agency, identified by its RUC (11 digits). */
typedef struct gw_member {
    char *id;            /* RUC */
    char *name;
    int rate_per_s;      /* overrides <limits ratePerSecond>; 0 = the default */
    int rate_burst;
    gw_legacy_credential *credentials;
    size_t credential_count;
    char *institution_code; /* how providers code this agency (Migraciones' strCodInstitucion);
                               NULL: its RUC (gw_member_institution_code) */
} gw_member;

/* An access right: member may call these operations of the service. */
typedef struct gw_grant {
    char *member_id;
    char **operations;   /* NULL-terminated; a single "*" means every operation */
} gw_grant;

/* A request field that names the caller (docs/configuration.md, "Identity fields"): every
 * element with this local name inside the operation element is bound to the authenticated
 * identity by gateway/stage07b_bind.c before the adapter runs. */
typedef enum gw_identity_source {
    GW_IDENTITY_MEMBER,            /* is="member": the authenticated member's RUC */
    GW_IDENTITY_OFFICIAL,          /* is="official": the authenticated or declared official */
    GW_IDENTITY_INSTITUTION_CODE,  /* is="institutionCode": the member's institutionCode */
} gw_identity_source;

typedef enum gw_identity_action {
    GW_IDENTITY_CHECK,             /* a different value: Fault Client.IdentityMismatch */
    GW_IDENTITY_OVERWRITE,         /* the value is replaced by the authenticated one */
} gw_identity_action;

typedef struct gw_identity_field {
    char *element;                 /* local name, e.g. "xRucEntidadConsultante" */
    gw_identity_source source;
    gw_identity_action action;
} gw_identity_field;

typedef struct gw_service_config {
    char *name;              /* URL path segment: /services/<name> */
    char *adapter;           /* adapter name; loaded from <adapterDir>/pide_adapter_<name>.so */
    char *wsdl_path;         /* absolute path of the WSDL served on ?wsdl */
    char *schema_path;       /* absolute path of the XSD the request payload is validated against */
    char *endpoint_url;      /* provider address */
    unsigned timeout_ms;     /* provider call timeout */
    int legacy_credentials;  /* 1: body credentials (nuRucUsuario/nuDniUsuario/password) accepted */
    int require_signature;   /* 1: only WS-Security signed requests are served */
    gw_param *params;
    size_t param_count;
    gw_grant *grants;
    size_t grant_count;
    int line;                /* where it was declared, for later error messages */
    gw_identity_field *identity_fields; /* <identityField>: request fields naming the caller */
    size_t identity_field_count;
    /* <encryptAtRest recipient=>, one per recipient: the certificates (absolute paths, checked
     * at load) the logged bodies are encrypted to (body_crypt.h); none: stored as they are. */
    char **encrypt_recipients;
    size_t encrypt_recipient_count;
} gw_service_config;

typedef struct gw_config {
    char *path;              /* the file it came from */
    char *base_dir; /* its absolute folder (relative paths resolve against it); may be NULL */

    /* <listen> */
    char *listen_address;    /* "127.0.0.1" */
    int listen_port;         /* 8080 */
    int workers;             /* worker threads */
    int max_in_flight;       /* exchanges accepted at once (working or awaiting their commit) */
    int backlog;
    int trust_client_header; /* identify callers by the declared pgw:client (loopback only) */

    /* <tls>: the member listener, mutual TLS; tls_port 0 with tls_enabled picks a free port */
    int tls_enabled;
    char *tls_address;
    int tls_port;
    char *tls_cert_path;      /* server certificate chain (PEM) */
    char *tls_key_path;       /* its key; refused when readable by group/others */
    char *tls_client_ca_path; /* CA(s) member certificates must chain to */
    char *tls_crl_path;       /* optional CRL of that CA */
    char *tls_ciphers;        /* OpenSSL cipher list for TLS 1.2 */
    int tls_require_client_cert;

    /* <admin>: metrics, health and maintenance (admin.h); admin_enabled 0: no admin listener */
    int admin_enabled;
    char *admin_address;       /* loopback unless admin_allow_non_loopback */
    int admin_port;            /* 0: any free port */
    int admin_allow_non_loopback;
    int admin_cert_min_days;   /* /readyz fails when a certificate expires within this */
    int admin_probe_interval_ms; /* how often the database is probed for /readyz */
    int admin_drain_delay_ms;    /* SIGTERM: /readyz 503 this long before the drain begins */
    /* <operationalLog>: stderr lines as text or JSON (log.h) */
    int log_json;

    /* <limits> */
    size_t max_body_bytes;
    int max_xml_depth;
    size_t max_xml_nodes;    /* elements + attributes */
    int recv_timeout_s;      /* a stalled read ends the connection */
    int send_timeout_s;
    int keepalive_idle_s;    /* an idle keep-alive connection is closed after this */
    int breaker_failures;    /* <circuitBreaker failures>: 0 = no circuit breakers */
    int breaker_open_s;      /* <circuitBreaker openSeconds> */
    int replay_window_s;     /* a client's message id may not repeat within this window */
    size_t replay_max_entries;
    int replay_cluster; /* <limits replayScope>: 1 cluster (replay_store.h, default), 0 node */
    int cluster_nodes;  /* <cluster nodes>: gateway nodes sharing the load; rates split by it */
    int rate_per_s;          /* per-member token bucket: refill rate; 0 = no rate limit */
    int rate_burst;          /* bucket size */
    size_t rate_max_clients;
    int timestamp_max_skew_s;/* WS-Security Timestamp: allowed clock difference */
    int timestamp_max_age_s; /* and how old its Created may be */
    size_t max_header_bytes;  /* request line + header fields; a line is at most 8 KiB (431) */
    int handshake_timeout_s;  /* a TLS handshake not done by then is closed (server.c) */
    int max_handshakes_per_ip;/* TLS connections one address may have in handshake at once */

    /* <wsSecurity>: WS-Security signed requests (wss.h); NULL: not accepted */
    char *wss_trusted_ca_path; /* CA(s) signer certificates must chain to */
    char *wss_crl_path;        /* optional CRL of the signers' CA (besides tls_crl_path) */
    int wss_response_ttl_s;    /* Expires - Created of the responses' wsu:Timestamp */

    /* <metaservices>: the built-in "meta" service (metaservices.h); NULL paths: not exposed */
    char *meta_wsdl_path;
    char *meta_schema_path;
    /* <auditService>: the built-in audit service (audit_service.h); NULL paths: not exposed */
    char *audit_wsdl_path;
    char *audit_schema_path;
    char *audit_conninfo;         /* libpq conninfo of the read-only auditor role, no password */
    char *audit_password_file;    /* optional; refused when readable by group/others */
    int audit_statement_timeout_ms;
    gw_grant *audit_grants;       /* its <grant> children: the only members that may call it */
    size_t audit_grant_count;

    /* <paths> */
    char *adapter_dir;

    /* <signing> */
    char *signing_key_path;  /* PEM private key; refused when readable by group/others; or a
                                "pkcs11:" URI (kept as written) naming a token's key object */
    char *signing_cert_path; /* PEM certificate, included in KeyInfo */
    char *signing_pin_file;  /* PKCS#11: the PIN file (mode 0600); NULL: the URI's pin-source */
    char *signing_pkcs11_module; /* PKCS#11: module= ; NULL: module-path or Debian's SoftHSM2 */

    /* <database> */
    char *db_conninfo;       /* libpq conninfo without the password */
    char *db_password_file;  /* optional; refused when readable by group/others */
    int log_batch_max;       /* rows per group commit */
    int log_commit_timeout_ms; /* how long a worker waits for its row before Server.LogUnavailable */
    /* <database><spool>: the durable local spool; spool_dir NULL: off */
    char *spool_dir;
    long spool_max_bytes;
    int spool_switch_after_ms;
    /* <database><checkpoint>: signed, time-stamped checkpoints (checkpoint.h); absent: none */
    int checkpoint_enabled;
    char *checkpoint_node_id;       /* default: the host name */
    int checkpoint_every_rows;
    int checkpoint_every_seconds;
    char *checkpoint_timestamp_url; /* RFC 3161 TSA, http://; NULL: checkpoints unstamped */
    char *checkpoint_timestamp_ca;  /* PEM CA the TSA's tokens must chain to; NULL: unchecked */
    int checkpoint_stamp_timeout_ms;
    int checkpoint_stamp_grace_s;
    int checkpoint_refuse_unstamped; /* onStampFailure="refuse" (default) / "continue" */

    gw_member *members;
    size_t member_count;
    gw_service_config *services;
    size_t service_count;
} gw_config;

/* Loads and validates `path`. On failure returns GW_ERR_CONFIG and writes "file:line: reason"
 * into err (size errlen). `schema_dir` holds gateway-config.xsd. */
gw_status gw_config_load(const char *path, const char *schema_dir, gw_config **out,
                         char *err, size_t errlen);
void gw_config_free(gw_config *cfg);

const gw_service_config *gw_config_find_service(const gw_config *cfg, const char *name);
const gw_member *gw_config_find_member(const gw_config *cfg, const char *id);
/* The code providers know the member by: its institutionCode, else its RUC. */
const char *gw_member_institution_code(const gw_member *m);
/* The value of a service's <param>, or NULL. */
const char *gw_service_param(const gw_service_config *svc, const char *name);

#endif
