/*
 * redact.h — computes the copy of a request the exchange log stores: never a secret in clear.
 *
 * Legacy PIDE clients put a password in the body (and WS-Security UsernameTokens a wsse:Password
 * in the header). The log must hold the request as sent, but never a password. One function,
 * gw_redact_request(), decides what is stored, and stage12_log calls it for every exchange,
 * whatever stage refused it (docs/exchange-log.md):
 *
 *  1. A real XML tokenizer (quoted attribute values with '>' or the other quote, comments,
 *     CDATA sections, processing instructions, prefixes, self-closing tags, blanks in tags)
 *     replaces the content of every element whose local name is a secret name (case-insensitive,
 *     any prefix: password, wsse:Password, ...), the value of every attribute with such a name,
 *     and the body of every comment or processing instruction that mentions one, by
 *     GW_REDACTED_MARKER. Everything else is kept byte for byte.
 *  2. The result is parsed with the hardened parser (xml_parse.h) and checked on the tree: no
 *     secret-named element or attribute holds anything but the marker, no comment or PI names a
 *     secret.
 *  3. When the tokenizer or the check fails (the request is not well-formed XML, is in an encoding
 *     the tokenizer does not read, exceeds the parser's limits...), the log stores a flagged
 *     truncation instead: GW_REDACT_FLAG_PREFIX, the reason, then at most GW_REDACT_KEEP_MAX
 *     bytes of the request, cut before the first occurrence of any secret name
 *     (case-insensitive), the first NUL and the first byte outside printable ASCII. A stored
 *     request starts with GW_REDACT_FLAG_PREFIX if and only if it was truncated: a request that
 *     itself starts with the prefix is truncated too.
 *
 * The digest of the request (request_sha256) is taken before, over the bytes as received.
 */
#ifndef PIDE_GW_REDACT_H
#define PIDE_GW_REDACT_H

#include <stddef.h>

#include <libxml/tree.h>

#include "arena.h"
#include "status.h"
#include "xml_parse.h"

#define GW_REDACTED_MARKER "[REDACTED]"
/* Starts every stored request that is a flagged truncation (and no other). */
#define GW_REDACT_FLAG_PREFIX "[PIDE-GW TRUNCATED:"
/* Most bytes of an unredactable request kept after the flag line. */
#define GW_REDACT_KEEP_MAX 512u

/* 1 when name[0..len) is a secret name (case-insensitive): password, passwd, clave. */
int gw_redact_is_secret_name(const char *name, size_t len);

/* Step 1 above: writes into *out (arena, NUL-terminated) the request with secrets replaced.
 * *count (if not NULL) gets the number of replacements. GW_ERR_MALFORMED_XML when buf cannot be
 * tokenized (unterminated markup, a DTD, a NUL byte, mismatched or unclosed tags). */
gw_status gw_redact_xml(gw_arena *arena, const char *buf, size_t len, const char **out,
                        size_t *out_len, int *count);

/* Step 2 above: 1 when no element, attribute, comment or PI of doc shows a secret. */
int gw_redact_doc_is_clean(xmlDocPtr doc);

/* Steps 1-3: what the log stores for the request buf[0..len). *flagged (if not NULL) is 1 when
 * the result is a flagged truncation. GW_ERR_NOMEM only. */
gw_status gw_redact_request(gw_arena *arena, const char *buf, size_t len,
                            const gw_xml_limits *limits, const char **out, size_t *out_len,
                            int *flagged);

/* Writes into *out (arena) a copy of text with every occurrence of each of the given secrets
 * (at least 3 bytes long) replaced by GW_REDACTED_MARKER; the secrets are the texts of the
 * secret-named elements and attributes of doc. For messages that may quote the request
 * (schema errors). text NULL gives NULL. */
const char *gw_redact_scrub_text(gw_arena *arena, xmlDocPtr doc, const char *text);

#endif
