/*
 * redact.h — removes secrets from the copy of a request the log keeps.
 *
 * Legacy PIDE clients put a password in the body. The log must hold the request as sent, but
 * never a password in clear: the text of every element with the given local name (any prefix)
 * is replaced by a fixed marker, byte for byte elsewhere. The digest of the request is taken
 * before redaction, over the bytes as received.
 */
#ifndef PIDE_GW_REDACT_H
#define PIDE_GW_REDACT_H

#include <stddef.h>

#include "arena.h"
#include "status.h"

#define GW_REDACTED_MARKER "[REDACTED]"

/* Writes into *out (arena) a copy of buf with the content of every <[p:]local_name ...>...
 * </[p:]local_name> replaced by GW_REDACTED_MARKER. *count gets the number of elements redacted. */
gw_status gw_redact_element_text(gw_arena *arena, const char *buf, size_t len,
                                 const char *local_name, const char **out, size_t *out_len,
                                 int *count);

#endif
