/* gateway_header.c — reads the request's pide-gateway header and writes the response's. */
#include "gateway_header.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "peru_id.h"
#include "xml_parse.h"

static const char *text_of(xmlNodePtr n, gw_arena *arena)
{
    xmlChar *t = xmlNodeGetContent(n);
    /* surrounding white space is layout, not value */
    const char *s = t ? (const char *)t : "";
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    const char *copy = gw_arena_strndup(arena, s, len);
    xmlFree(t);
    return copy;
}

struct field {
    const char *name;
    const char **slot;
};

/* Reads the children of a structured element (client, service) into their slots. */
static gw_status read_children(xmlNodePtr parent, const struct field *fields, size_t nfields,
                               gw_arena *arena, char *err, size_t errlen)
{
    for (xmlNodePtr c = gw_xml_first_element(parent); c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        size_t i = 0;
        while (i < nfields && !gw_xml_is(c, GW_HEADER_NS, fields[i].name))
            i++;
        if (i == nfields) {
            gw_set_error(err, errlen, "%s: unexpected element '%s'", parent->name, c->name);
            return GW_ERR_BAD_HEADER;
        }
        if (*fields[i].slot) {
            gw_set_error(err, errlen, "%s/%s appears twice", parent->name, c->name);
            return GW_ERR_BAD_HEADER;
        }
        *fields[i].slot = text_of(c, arena);
    }
    return GW_OK;
}

static gw_status check_values(const gw_request_header *h, char *err, size_t errlen)
{
    if (h->client_member && !gw_is_ruc(h->client_member)) {
        gw_set_error(err, errlen, "client/memberCode must be an 11-digit RUC");
        return GW_ERR_BAD_HEADER;
    }
    if (h->user_id && !gw_is_dni(h->user_id)) {
        gw_set_error(err, errlen, "userId must be an 8-digit DNI");
        return GW_ERR_BAD_HEADER;
    }
    if (h->id) {
        size_t n = strlen(h->id);
        int printable = n > 0 && n <= 128;
        for (size_t i = 0; printable && i < n; i++)
            printable = !iscntrl((unsigned char)h->id[i]);
        if (!printable) {
            gw_set_error(err, errlen, "id must be 1 to 128 printable characters");
            return GW_ERR_BAD_HEADER;
        }
    }
    if (h->protocol_version && strcmp(h->protocol_version, GW_HEADER_PROTOCOL_VERSION) != 0) {
        gw_set_error(err, errlen, "protocolVersion '%s' is not supported (this gateway speaks %s)",
                     h->protocol_version, GW_HEADER_PROTOCOL_VERSION);
        return GW_ERR_BAD_HEADER;
    }
    return GW_OK;
}

gw_status gw_request_header_read(xmlNodePtr soap_header, gw_arena *arena, gw_request_header *out,
                                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = '\0';
    const struct field simple[] = {
        {"id", &out->id},
        {"userId", &out->user_id},
        {"purpose", &out->purpose},
        {"protocolVersion", &out->protocol_version},
    };
    const struct field client[] = {
        {"memberCode", &out->client_member},
        {"subsystemCode", &out->client_subsystem},
    };
    const struct field service[] = {
        {"memberCode", &out->service_member},
        {"serviceCode", &out->service_code},
        {"serviceVersion", &out->service_version},
    };
    int seen_client = 0, seen_service = 0;
    for (xmlNodePtr c = soap_header ? soap_header->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !c->ns || !c->ns->href ||
            strcmp((const char *)c->ns->href, GW_HEADER_NS) != 0)
            continue; /* other headers (wsse:Security...) are for other stages */
        out->present = 1;
        gw_status st = GW_OK;
        if (strcmp((const char *)c->name, "client") == 0) {
            st = seen_client++ ? GW_ERR_BAD_HEADER
                               : read_children(c, client, 2, arena, err, errlen);
        } else if (strcmp((const char *)c->name, "service") == 0) {
            st = seen_service++ ? GW_ERR_BAD_HEADER
                                : read_children(c, service, 3, arena, err, errlen);
        } else {
            size_t i = 0;
            while (i < 4 && strcmp((const char *)c->name, simple[i].name) != 0)
                i++;
            if (i == 4) {
                gw_set_error(err, errlen, "unknown header element '%s'", c->name);
                return GW_ERR_BAD_HEADER;
            }
            if (*simple[i].slot)
                st = GW_ERR_BAD_HEADER;
            else
                *simple[i].slot = text_of(c, arena);
        }
        if (st != GW_OK) {
            if (!*err)
                gw_set_error(err, errlen, "header element '%s' appears twice", c->name);
            return st;
        }
    }
    if (seen_client && !out->client_member) {
        gw_set_error(err, errlen, "client needs a memberCode");
        return GW_ERR_BAD_HEADER;
    }
    return check_values(out, err, errlen);
}

static xmlNodePtr add(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *value)
{
    return value ? xmlNewTextChild(parent, ns, BAD_CAST name, BAD_CAST value) : NULL;
}

void gw_response_header_write(xmlNodePtr soap_header, const gw_request_header *req,
                              const char *exchange_id, const unsigned char request_sha256[32])
{
    xmlNsPtr ns = xmlNewNs(soap_header, BAD_CAST GW_HEADER_NS, BAD_CAST "pgw");
    if (req && req->client_member) {
        xmlNodePtr c = xmlNewChild(soap_header, ns, BAD_CAST "client", NULL);
        add(c, ns, "memberCode", req->client_member);
        add(c, ns, "subsystemCode", req->client_subsystem);
    }
    if (req && req->service_code) {
        xmlNodePtr s = xmlNewChild(soap_header, ns, BAD_CAST "service", NULL);
        add(s, ns, "memberCode", req->service_member);
        add(s, ns, "serviceCode", req->service_code);
        add(s, ns, "serviceVersion", req->service_version);
    }
    add(soap_header, ns, "id", req && req->id ? req->id : exchange_id);
    if (req) {
        add(soap_header, ns, "userId", req->user_id);
        add(soap_header, ns, "purpose", req->purpose);
    }
    add(soap_header, ns, "protocolVersion", GW_HEADER_PROTOCOL_VERSION);
    add(soap_header, ns, "exchangeId", exchange_id);
    if (request_sha256) {
        unsigned char b64[48];
        EVP_EncodeBlock(b64, request_sha256, 32);
        xmlNodePtr h = add(soap_header, ns, "requestHash", (const char *)b64);
        xmlNewProp(h, BAD_CAST "algorithm", BAD_CAST GW_XMLENC_SHA256);
    }
}
