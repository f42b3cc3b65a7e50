/* stage07b_bind.c — binds the request's identity fields to the authenticated caller, so that
 * who asked is one fact: what the provider hears and what the log records.
 *
 * A service declares, with <identityField element= is= action=> (docs/configuration.md), which
 * request fields name the calling entity or official. Every element with that local name inside
 * the operation element (any depth, every occurrence: a duplicate cannot slip past) must be in
 * no namespace or the operation's own, and hold text only. Its value is compared with the
 * authenticated identity gw_stage_identify established:
 *   is="member"          the member's RUC (ex->client_member);
 *   is="institutionCode" the member's institutionCode from the configuration (its RUC if none);
 *   is="official"        the official: the DNI of the legacy credentials, else the pgw:userId the
 *                        authenticated member declares; when neither exists the first occurrence
 *                        becomes the declared official (so the log records it) and every other
 *                        occurrence must agree with it.
 * action="check" refuses a different value with Client.IdentityMismatch (the refusal is logged
 * with the authenticated member); action="overwrite" replaces the text in the parsed request
 * before the adapter runs. An absent field stays absent: the service's schema decides whether it
 * is required, and the adapter reads the identity from the host (pide_host_api.identity). */
#include <string.h>

#include "pipeline.h"
#include "runtime.h"

/* Text content with XML white space trimmed (arena), or NULL when out of memory. */
static const char *trimmed_text(gw_exchange *ex, xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = t ? (const char *)t : "";
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
        len--;
    const char *copy = gw_arena_strndup(&ex->arena, s, len);
    xmlFree(t);
    return copy;
}

static const char *source_name(gw_identity_source s)
{
    switch (s) {
    case GW_IDENTITY_MEMBER:
        return "member";
    case GW_IDENTITY_OFFICIAL:
        return "official";
    case GW_IDENTITY_INSTITUTION_CODE:
        return "institution code";
    }
    return "identity";
}

typedef struct binding {
    const gw_identity_field *field;
    const char *op_ns;           /* namespace of the operation element, or NULL */
    const char *expected;        /* the authenticated value; NULL: official not yet known */
    size_t occurrences;
} binding;

static gw_status bind_element(gw_exchange *ex, binding *b, xmlNodePtr n)
{
    const gw_identity_field *f = b->field;
    b->occurrences++;
    if (n->ns && (!b->op_ns || strcmp((const char *)n->ns->href, b->op_ns) != 0))
        return gw_exchange_fail(ex, GW_ERR_IDENTITY_MISMATCH,
                                "identity field %s in namespace '%s', not the service's",
                                f->element, (const char *)n->ns->href);
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return gw_exchange_fail(ex, GW_ERR_IDENTITY_MISMATCH,
                                    "identity field %s must hold text only", f->element);
    const char *value = trimmed_text(ex, n);
    if (!value)
        return GW_ERR_NOMEM;
    if (!b->expected) {
        /* No authenticated or declared official: the request's own becomes the declared one. */
        ex->client_user = value;
        b->expected = value;
        return GW_OK;
    }
    if (strcmp(value, b->expected) == 0) {
        if (f->action == GW_IDENTITY_OVERWRITE)
            goto overwrite; /* normalise surrounding white space too */
        return GW_OK;
    }
    if (f->action == GW_IDENTITY_CHECK)
        return gw_exchange_fail(ex, GW_ERR_IDENTITY_MISMATCH,
                                "%s is '%.64s' but the authenticated %s is %s", f->element, value,
                                source_name(f->source), b->expected);
overwrite:
    xmlNodeSetContent(n, NULL);
    xmlNodeAddContent(n, (const xmlChar *)b->expected);
    return GW_OK;
}

/* Every element named f->element below `parent`, depth first, in document order. */
static gw_status bind_below(gw_exchange *ex, binding *b, xmlNodePtr parent)
{
    for (xmlNodePtr n = parent->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        gw_status st = strcmp((const char *)n->name, b->field->element) == 0
                           ? bind_element(ex, b, n)
                           : bind_below(ex, b, n);
        if (st != GW_OK)
            return st;
    }
    return GW_OK;
}

gw_status gw_bind_identity(gw_exchange *ex, const gw_config *cfg, const gw_service_config *sc)
{
    if (!sc->identity_field_count)
        return GW_OK;
    const gw_member *member = gw_config_find_member(cfg, ex->client_member);
    if (!member || !ex->request_operation)
        return gw_exchange_fail(ex, GW_ERR_INTERNAL,
                                "identity binding without an identified member");
    xmlNodePtr op = ex->request_operation;
    for (size_t i = 0; i < sc->identity_field_count; i++) {
        const gw_identity_field *f = &sc->identity_fields[i];
        binding b = {.field = f, .op_ns = op->ns ? (const char *)op->ns->href : NULL};
        switch (f->source) {
        case GW_IDENTITY_MEMBER:
            b.expected = member->id;
            break;
        case GW_IDENTITY_INSTITUTION_CODE:
            b.expected = gw_member_institution_code(member);
            break;
        case GW_IDENTITY_OFFICIAL:
            b.expected = ex->client_user && *ex->client_user ? ex->client_user : NULL;
            break;
        }
        gw_status st = bind_below(ex, &b, op);
        if (st != GW_OK)
            return st;
    }
    return GW_OK;
}

gw_status gw_stage_bind(gw_exchange *ex)
{
    return gw_bind_identity(ex, ex->rt->config, ex->service->config);
}
