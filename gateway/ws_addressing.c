/* ws_addressing.c — WS-Addressing 1.0 request headers read, response headers written
 * (ws_addressing.h). */
#include "ws_addressing.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "namespaces.h"
#include "xml_parse.h"

/* The text of a leaf element, trimmed; GW_ERR_BAD_ADDRESSING when it has element children, is
 * empty, too long or holds control characters. */
static gw_status leaf_text(xmlNodePtr n, gw_arena *arena, const char **out, char *err,
                           size_t errlen)
{
    if (gw_xml_first_element(n)) {
        gw_set_error(err, errlen, "wsa:%s must hold text, not elements", n->name);
        return GW_ERR_BAD_ADDRESSING;
    }
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = t ? (const char *)t : "";
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    gw_status st = GW_OK;
    if (len == 0 || len > GW_WSA_MAX_VALUE) {
        gw_set_error(err, errlen, "wsa:%s must be 1 to %d characters", n->name, GW_WSA_MAX_VALUE);
        st = GW_ERR_BAD_ADDRESSING;
    }
    for (size_t i = 0; st == GW_OK && i < len; i++)
        if (iscntrl((unsigned char)s[i])) {
            gw_set_error(err, errlen, "wsa:%s holds a control character", n->name);
            st = GW_ERR_BAD_ADDRESSING;
        }
    if (st == GW_OK) {
        *out = gw_arena_strndup(arena, s, len);
        if (!*out)
            st = GW_ERR_NOMEM;
    }
    xmlFree(t);
    return st;
}

/* ReplyTo / FaultTo: an endpoint reference whose wsa:Address must be anonymous or none. */
static gw_status check_reply_endpoint(xmlNodePtr epr, gw_arena *arena, char *err, size_t errlen)
{
    const char *address = NULL;
    for (xmlNodePtr c = gw_xml_first_element(epr); c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !gw_xml_is(c, GW_WSA_NS, "Address"))
            continue;
        if (address) {
            gw_set_error(err, errlen, "wsa:%s has two wsa:Address", epr->name);
            return GW_ERR_BAD_ADDRESSING;
        }
        gw_status st = leaf_text(c, arena, &address, err, errlen);
        if (st != GW_OK)
            return st;
    }
    if (!address) {
        gw_set_error(err, errlen, "wsa:%s has no wsa:Address", epr->name);
        return GW_ERR_BAD_ADDRESSING;
    }
    if (strcmp(address, GW_WSA_ANONYMOUS) != 0 && strcmp(address, GW_WSA_NONE) != 0) {
        gw_set_error(err, errlen, "wsa:%s must be anonymous: this gateway answers on the HTTP "
                     "response only", epr->name);
        return GW_ERR_BAD_ADDRESSING;
    }
    return GW_OK;
}

gw_status gw_wsa_read(xmlNodePtr soap_header, gw_arena *arena, gw_wsa_request *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *relates = NULL, *from = NULL;
    int reply_to = 0, fault_to = 0;
    for (xmlNodePtr c = soap_header ? soap_header->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !c->ns || !c->ns->href ||
            strcmp((const char *)c->ns->href, GW_WSA_NS) != 0)
            continue;
        out->present = 1;
        const char *name = (const char *)c->name;
        const char **slot = strcmp(name, "MessageID") == 0   ? &out->message_id
                            : strcmp(name, "Action") == 0    ? &out->action
                            : strcmp(name, "To") == 0        ? &out->to
                            : strcmp(name, "RelatesTo") == 0 ? &relates
                                                             : NULL;
        gw_status st = GW_OK;
        if (slot) {
            if (*slot) {
                gw_set_error(err, errlen, "wsa:%s appears twice", name);
                return GW_ERR_BAD_ADDRESSING;
            }
            st = leaf_text(c, arena, slot, err, errlen);
        } else if (strcmp(name, "ReplyTo") == 0 || strcmp(name, "FaultTo") == 0 ||
                   strcmp(name, "From") == 0) {
            int *seen = name[0] == 'R' ? &reply_to : name[0] == 'F' && name[1] == 'a' ? &fault_to
                                                                                     : NULL;
            if ((seen && (*seen)++) || (!seen && from)) {
                gw_set_error(err, errlen, "wsa:%s appears twice", name);
                return GW_ERR_BAD_ADDRESSING;
            }
            if (seen)
                st = check_reply_endpoint(c, arena, err, errlen);
            else
                from = name;
        } else {
            gw_set_error(err, errlen, "unknown WS-Addressing header wsa:%s", name);
            return GW_ERR_BAD_ADDRESSING;
        }
        if (st != GW_OK)
            return st;
    }
    if (out->present && !out->action) {
        gw_set_error(err, errlen, "a request with WS-Addressing headers needs wsa:Action");
        return GW_ERR_BAD_ADDRESSING;
    }
    return GW_OK;
}

int gw_action_names_operation(const char *action, const char *operation)
{
    if (!action || !operation || !*operation)
        return 0;
    size_t n = strlen(action);
    size_t start = n;
    while (start > 0 && action[start - 1] != '/' && action[start - 1] != '#' &&
           action[start - 1] != ':')
        start--;
    const char *last = action + start;
    size_t oplen = strlen(operation);
    if (strncmp(last, operation, oplen) != 0)
        return 0;
    return last[oplen] == '\0' || strcmp(last + oplen, "Request") == 0;
}

void gw_wsa_response_write(xmlNodePtr soap_header, const char *relates_to, const char *action,
                           const char *exchange_id)
{
    xmlNsPtr ns = xmlNewNs(soap_header, BAD_CAST GW_WSA_NS, BAD_CAST "wsa");
    char id[64];
    snprintf(id, sizeof id, "urn:uuid:%s", exchange_id);
    xmlNewTextChild(soap_header, ns, BAD_CAST "MessageID", BAD_CAST id);
    if (relates_to)
        xmlNewTextChild(soap_header, ns, BAD_CAST "RelatesTo", BAD_CAST relates_to);
    if (action)
        xmlNewTextChild(soap_header, ns, BAD_CAST "Action", BAD_CAST action);
}
