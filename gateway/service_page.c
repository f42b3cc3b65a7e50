/* service_page.c — the GET /services page (see service_page.h). */
#include "service_page.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_catalog.h"

typedef struct page {
    char *data;
    size_t len, cap;
    int failed;
} page;

static void put(page *p, const char *s, size_t n)
{
    if (p->failed)
        return;
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n + 1)
            cap *= 2;
        char *d = realloc(p->data, cap);
        if (!d) {
            p->failed = 1;
            return;
        }
        p->data = d;
        p->cap = cap;
    }
    memcpy(p->data + p->len, s, n);
    p->len += n;
    p->data[p->len] = '\0';
}

static void puts_raw(page *p, const char *s) { put(p, s, strlen(s)); }

/* Text into HTML: & < > " ' escaped. */
static void puts_html(page *p, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': puts_raw(p, "&amp;"); break;
        case '<': puts_raw(p, "&lt;"); break;
        case '>': puts_raw(p, "&gt;"); break;
        case '"': puts_raw(p, "&quot;"); break;
        case '\'': puts_raw(p, "&#39;"); break;
        default: put(p, s, 1);
        }
    }
}

/* A path segment into an href: anything but [A-Za-z0-9._-] percent-encoded. */
static void puts_href_segment(page *p, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-') {
            put(p, s, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", c);
            puts_raw(p, hex);
        }
    }
}

gw_status gw_service_page_build(const gw_service_catalog *cat, char **out, size_t *out_len)
{
    page p = {0};
    puts_raw(&p, "<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>pide-gateway: servicios publicados</title>\n"
                 "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
                 "section{border-top:1px solid #ccc;padding:.5em 0}code{background:#f4f4f4}"
                 "</style>\n</head>\n<body>\n<h1>Servicios publicados</h1>\n"
                 "<p>Cada servicio se llama por SOAP 1.1 o 1.2 en <code>POST /services/"
                 "&lt;servicio&gt;</code>; su contrato (WSDL) está en el enlace. Solo las "
                 "entidades con permiso pueden llamarlo, y cada consulta queda firmada y "
                 "registrada. Los metaservicios (<code>listServices</code>, "
                 "<code>allowedMethods</code>) dicen lo mismo a un programa.</p>\n");
    for (size_t i = 0; i < cat->count; i++) {
        const gw_service *svc = &cat->services[i];
        const char *name = svc->config->name;
        puts_raw(&p, "<section>\n<h2>");
        puts_html(&p, name);
        puts_raw(&p, "</h2>\n");
        if (svc->description) {
            puts_raw(&p, "<p>");
            puts_html(&p, svc->description);
            puts_raw(&p, "</p>\n");
        }
        const pide_adapter *a = svc->binding ? svc->binding->adapter : NULL;
        puts_raw(&p, "<p>Operaciones:");
        int listed = 0;
        for (const char *const *op = a ? a->operations : NULL; op && *op; op++) {
            if (strcmp(*op, "*") == 0) {
                const char *configured =
                    gw_pide_config_param(svc->binding->service_config, "operations");
                if (configured) {
                    puts_raw(&p, " <code>");
                    puts_html(&p, configured);
                    puts_raw(&p, "</code>");
                    listed = 1;
                }
                continue;
            }
            puts_raw(&p, listed ? ", <code>" : " <code>");
            puts_html(&p, *op);
            puts_raw(&p, "</code>");
            listed = 1;
        }
        if (!listed)
            puts_raw(&p, " (ninguna)");
        puts_raw(&p, "</p>\n<p>Adaptador <code>");
        puts_html(&p, a ? a->name : "?");
        puts_raw(&p, "</code> versión <code>");
        puts_html(&p, a && a->version ? a->version : "?");
        puts_raw(&p, "</code> · <a href=\"/services/");
        puts_href_segment(&p, name);
        puts_raw(&p, "?wsdl\">WSDL</a></p>\n</section>\n");
    }
    puts_raw(&p, "</body>\n</html>\n");
    if (p.failed) {
        free(p.data);
        return GW_ERR_NOMEM;
    }
    *out = p.data;
    *out_len = p.len;
    return GW_OK;
}
