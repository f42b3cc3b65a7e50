/*
 * sim_buf.h — a growable byte buffer for building simulator responses (text, escaped XML,
 * base64). Appends never fail silently: on out-of-memory the buffer is marked failed and every
 * later append is a no-op, so a handler checks once (sim_buf_ok) before sending.
 */
#ifndef PIDE_SIM_BUF_H
#define PIDE_SIM_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_buf {
    char *data;     /* NUL-terminated while ok */
    size_t len;
    size_t cap;
    bool failed;
} sim_buf;

void sim_buf_init(sim_buf *b);
void sim_buf_free(sim_buf *b);
/* Empties the buffer, keeping its memory for the next response. */
void sim_buf_clear(sim_buf *b);
bool sim_buf_ok(const sim_buf *b);

void sim_buf_append(sim_buf *b, const void *data, size_t len);
void sim_buf_append_str(sim_buf *b, const char *s);
void sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escapes & < > " ' so that any text is safe as XML character data or attribute value. */
void sim_buf_append_xml_text(sim_buf *b, const char *s);
/* Standard base64 (RFC 4648), no line breaks. */
void sim_buf_append_base64(sim_buf *b, const unsigned char *data, size_t len);

#endif
