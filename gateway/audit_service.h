/*
 * audit_service.h — the gateway's built-in audit service "AuditService" (buscarIntercambios,
 * obtenerIntercambio, verificarCadena, consultasPorCiudadano; wsdl/AuditService.wsdl). A built-in
 * adapter like the metaservices: its calls are validated, identified, authorized, signed and
 * logged like any other. Only the members <auditService> grants may call it. It reads the
 * exchange log through its own read-only connection as the auditor role (never the writer's),
 * with PQexecParams only, a pinned search_path, a per-call statement_timeout and bounded pages.
 * The pure helpers below are exposed for tests/unit/check_audit_service.c.
 */
#ifndef PIDE_GW_AUDIT_SERVICE_H
#define PIDE_GW_AUDIT_SERVICE_H

#include <stdint.h>

#include "exchange_log.h"
#include "pide_adapter.h"
#include "service_catalog.h"

#define GW_AUDIT_SERVICE_NAME "AuditService"
#define GW_AUDIT_PAGE_DEFAULT 50
#define GW_AUDIT_PAGE_MAX 100
#define GW_AUDIT_VERIFY_MAX_ROWS 5000  /* rows verificarCadena checks per call */
#define GW_AUDIT_MAX_PROBLEMS 100      /* problems it lists per call (all are counted) */

const pide_adapter *gw_audit_service_adapter(void);
extern const gw_builtin_service gw_audit_service_builtin;

/* 1 when `number` is a valid document of `type`: DNI 8 digits, RUC 11 digits, CE 9 to 12
 * letters or digits. */
int gw_audit_document_ok(const char *type, const char *number);
/* A page size given as text (NULL: the default): 1..GW_AUDIT_PAGE_MAX, else -1. */
int gw_audit_page_size(const char *text);
/* An xs:dateTime (YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm]; no zone: Lima, UTC-5) as microseconds
 * since the epoch; 0 on success, -1 when it is not one. */
int gw_audit_parse_datetime(const char *text, int64_t *out_us);

/* The chain check of one row, as tools/pide_audit_verify.c does it: the row's fields in
 * canonical order (GW_LOG_FIELD_COUNT), its prev_hash and row_hash; *prev_seq and prev_hash are
 * the previous row's (updated). Returns NULL when the row is sound, else what is wrong (static
 * text, or written into buf). md is an EVP_MD_CTX. */
const char *gw_audit_check_row(void *md, const gw_log_field *col, const gw_log_field *prev_hash,
                               const gw_log_field *row_hash, int64_t *prev_seq,
                               unsigned char prev[GW_LOG_HASH_LEN], char *buf, size_t buflen);

#endif
