/* rest_openapi.c — a service's REST face as an OpenAPI 3.1 document (see rest_openapi.h). */
#include "rest_openapi.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rest_face.h"
#include "rest_schema.h"
#include "rest_sign.h"
#include "service_catalog.h"

static json_t *leaf_schema(const gw_rest_field *f)
{
    const char *type = gw_rest_json_type(f->base);
    json_t *s = json_pack("{s:s}", "type", type);
    if (strcmp(f->base ? f->base : "", "date") == 0)
        json_object_set_new(s, "format", json_string("date"));
    else if (strcmp(f->base ? f->base : "", "dateTime") == 0)
        json_object_set_new(s, "format", json_string("date-time"));
    else if (strcmp(f->base ? f->base : "", "base64Binary") == 0)
        json_object_set_new(s, "contentEncoding", json_string("base64"));
    if (f->pattern && strcmp(type, "string") == 0)
        json_object_set_new(s, "pattern", json_sprintf("^(?:%s)$", f->pattern));
    if (f->length >= 0) {
        json_object_set_new(s, "minLength", json_integer(f->length));
        json_object_set_new(s, "maxLength", json_integer(f->length));
    }
    if (f->min_length >= 0)
        json_object_set_new(s, "minLength", json_integer(f->min_length));
    if (f->max_length >= 0)
        json_object_set_new(s, "maxLength", json_integer(f->max_length));
    if (f->min_inclusive && strcmp(type, "string") != 0)
        json_object_set_new(s, "minimum", json_real(strtod(f->min_inclusive, NULL)));
    if (f->max_inclusive && strcmp(type, "string") != 0)
        json_object_set_new(s, "maximum", json_real(strtod(f->max_inclusive, NULL)));
    if (f->enum_count) {
        json_t *e = json_array();
        for (size_t i = 0; i < f->enum_count; i++)
            json_array_append_new(e, json_string(f->enums[i]));
        json_object_set_new(s, "enum", e);
    }
    return s;
}

static json_t *repeated(const gw_rest_field *f, json_t *item)
{
    if (f->max_occurs == 1)
        return item;
    json_t *a = json_pack("{s:s, s:o}", "type", "array", "items", item);
    if (f->max_occurs > 1)
        json_object_set_new(a, "maxItems", json_integer(f->max_occurs));
    return a;
}

/* The object schema of the fields at depth `depth` from index `from` (the children of one
 * wrapper); *next gets the index after them. */
static json_t *object_schema(const gw_rest_element *el, size_t from, int depth, size_t *next)
{
    json_t *props = json_object(), *req = json_array();
    size_t i = from;
    while (i < el->count && el->fields[i].depth >= depth) {
        const gw_rest_field *f = &el->fields[i];
        json_t *s;
        if (f->wrapper) {
            s = object_schema(el, i + 1, depth + 1, &i);
        } else {
            s = leaf_schema(f);
            i++;
        }
        json_object_set_new(props, f->name, repeated(f, s));
        if (f->min_occurs > 0)
            json_array_append_new(req, json_string(f->name));
    }
    *next = i;
    json_t *o = json_pack("{s:s, s:o}", "type", "object", "properties", props);
    if (json_array_size(req))
        json_object_set_new(o, "required", req);
    else
        json_decref(req);
    return o;
}

static json_t *error_response(const char *what)
{
    return json_pack("{s:s, s:{s:{s:s}, s:{s:{s:s}}}, s:{s:{s:{s:s}}}}", "description", what,
                     "headers", "X-Pide-Exchange-Id", "$ref", "#/components/headers/ExchangeId",
                     GW_REST_SIGNATURE_HEADER, "schema", "type", "string", "content",
                     "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static json_t *operation(const gw_service *svc, const char *op, char *err, size_t errlen,
                         gw_arena *a)
{
    gw_rest_element req, resp;
    if (gw_rest_element_read(svc->schema_text, svc->schema_len, op, a, &req, err, errlen) != GW_OK)
        return NULL;
    json_t *params = json_array();
    for (size_t i = 0; i < req.count; i++) {
        const gw_rest_field *f = &req.fields[i];
        if (f->wrapper || f->secret)
            continue;
        /* An identity field the query leaves out is filled by the gateway (rest_face.h). */
        const char *identity = NULL;
        const gw_service_config *sc = svc->config;
        for (size_t k = 0; k < sc->identity_field_count && !identity; k++)
            if (strcmp(sc->identity_fields[k].element, f->name) == 0)
                identity = sc->identity_fields[k].source == GW_IDENTITY_OFFICIAL
                               ? "Defaults to the PIDE-User-Id header; must agree with the "
                                 "authenticated official."
                               : "Defaults to the client certificate's member; must agree "
                                 "with it (or is overwritten with it).";
        json_t *p =
            json_pack("{s:s, s:s, s:b, s:o}", "name", f->name, "in", "query", "required",
                      f->min_occurs > 0 && !identity, "schema", repeated(f, leaf_schema(f)));
        if (identity)
            json_object_set_new(p, "description", json_string(identity));
        if (f->max_occurs != 1) {
            json_object_set_new(p, "style", json_string("form"));
            json_object_set_new(p, "explode", json_true());
        }
        json_array_append_new(params, p);
    }
    static const char *const headers[][2] = {
        {"PIDE-Message-Id", "The caller's message id (pgw:id): replay detection and the log. "
                            "A repeated id from the same member is refused (Client.Replay)."},
        {"PIDE-Purpose", "Why the data is consulted (pgw:purpose), logged with the exchange."},
        {"PIDE-User-Id", "The official's DNI (pgw:userId), declared by the member."},
    };
    for (size_t i = 0; i < 3; i++)
        json_array_append_new(params,
                              json_pack("{s:s, s:s, s:b, s:s, s:{s:s, s:i}}", "name", headers[i][0],
                                        "in", "header", "required", 0, "description", headers[i][1],
                                        "schema", "type", "string", "maxLength", 128));
    char resp_name[256];
    snprintf(resp_name, sizeof resp_name, "%sResponse", op);
    json_t *payload;
    size_t next = 0;
    if (gw_rest_element_read(svc->schema_text, svc->schema_len, resp_name, a, &resp, err, errlen) ==
        GW_OK)
        payload = object_schema(&resp, 0, 1, &next);
    else
        payload = json_pack("{s:s}", "type", "object");
    json_t *ok_schema = json_pack(
        "{s:s, s:[s, s, s], s:{s:{s:s}, s:{s:s}, s:{s:s, s:s}, s:o}}", "type", "object", "required",
        "exchangeId", "requestHash", resp_name, "properties", "exchangeId", "type", "string",
        "messageId", "type", "string", "requestHash", "type", "string", "description",
        "base64url SHA-256 of the request the gateway built from the query", resp_name, payload);
    json_t *responses = json_object();
    json_object_set_new(responses, "200",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}}, s:{s:{s:o}}}", "description",
                                  "the provider's answer, signed", "headers", "X-Pide-Exchange-Id",
                                  "$ref", "#/components/headers/ExchangeId",
                                  GW_REST_SIGNATURE_HEADER, "$ref",
                                  "#/components/headers/Signature", "content", "application/json",
                                  "schema", ok_schema));
    static const char *const errors[][2] = {
        {"400", "malformed query, invalid value (Client.SchemaInvalid), bad parameter "
                "(Client.BadRequest)"},
        {"401", "not authenticated (Client.AuthenticationFailed)"},
        {"403", "not granted (Client.AccessDenied), identity mismatch, or not over mutual TLS"},
        {"404", "unknown service or operation"},
        {"405", "only GET"},
        {"409", "replayed PIDE-Message-Id (Client.Replay)"},
        {"413", "the request built from the query is too large"},
        {"414", "the query is over 4096 bytes"},
        {"429", "rate limited (Client.RateLimited)"},
        {"431", "the request head is too large"},
        {"500", "gateway failure"},
        {"502", "the provider's answer could not be understood"},
        {"503", "provider unavailable, or the exchange could not be logged"},
        {"504", "the provider did not answer in time"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        json_t *r = error_response(errors[i][1]);
        json_t *h = json_object_get(r, "headers");
        json_object_set_new(h, GW_REST_SIGNATURE_HEADER,
                            json_pack("{s:s}", "$ref", "#/components/headers/Signature"));
        json_object_set_new(responses, errors[i][0], r);
    }
    return json_pack("{s:{s:s, s:s, s:o, s:o}}", "get", "operationId", op, "summary", op,
                     "parameters", params, "responses", responses);
}

gw_status gw_rest_openapi(const gw_service *svc, char **out, size_t *len, char *err, size_t errlen)
{
    gw_status st = GW_ERR_NOMEM;
    gw_arena a;
    gw_arena_init(&a, 65536);
    *out = NULL;
    json_t *paths = json_object();
    const char *const *ops =
        svc->binding && svc->binding->adapter ? svc->binding->adapter->operations : NULL;
    /* An adapter serving what the configuration says ("*"): the schema's request elements. */
    const char *schema_ops[64];
    for (size_t i = 0; ops && ops[i]; i++) {
        if (strcmp(ops[i], "*") == 0) {
            size_t n =
                gw_rest_schema_operations(svc->schema_text, svc->schema_len, &a, schema_ops, 63);
            schema_ops[n] = NULL;
            ops = schema_ops;
            break;
        }
    }
    for (size_t i = 0; ops && ops[i]; i++) {
        char why[256];
        json_t *p = operation(svc, ops[i], why, sizeof why, &a);
        if (p) {
            char key[300];
            snprintf(key, sizeof key, "/%s", ops[i]);
            json_object_set_new(paths, key, p);
        }
    }
    const char *name = svc->config->name;
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:[{s:[]}], s:o, s:{s:{s:{s:s, s:s}}, "
        "s:{s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:s, s:{s:s}}}, "
        "s:{s:{s:s, s:[s, s, s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}}}}",
        "openapi", "3.1.0", "info", "title", name, "version", "1.0", "description",
        svc->description ? svc->description
                         : "REST face of a pide-gateway service (docs/integrator-guide.md)",
        "servers", "url", gw_arena_printf(&a, "/rest/%s", name), "security", "mutualTLS", "paths",
        paths, "components", "securitySchemes", "mutualTLS", "type", "mutualTLS", "description",
        "The member's client certificate (its RUC) on the member listener; nothing else "
        "identifies a REST caller.",
        "headers", "ExchangeId", "description", "The exchange id (CUO) of the log record",
        "required", "true", "schema", "type", "string", "format", "uuid", "Signature",
        "description",
        "Detached JWS (RFC 7515 Appendix F, RFC 7797 b64=false) over the body as sent: "
        "BASE64URL(header)..BASE64URL(signature); the protected header names the exchange id "
        "and the status",
        "required", "true", "schema", "type", "string", "schemas", "Error", "type", "object",
        "required", "code", "message", "exchangeId", "properties", "code", "type", "string",
        "message", "type", "string", "exchangeId", "type", "string", "resultCode", "type",
        "string");
    if (!doc) {
        gw_set_error(err, errlen, "cannot build the OpenAPI document of %s", name);
        goto fail;
    }
    /* "required" of a header object is a boolean */
    json_t *hs = json_object_get(json_object_get(doc, "components"), "headers");
    json_object_set_new(json_object_get(hs, "ExchangeId"), "required", json_true());
    json_object_set_new(json_object_get(hs, "Signature"), "required", json_true());
    *out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(doc);
    if (*out) {
        *len = strlen(*out);
        st = GW_OK;
    }
fail:
    gw_arena_destroy(&a);
    return st;
}
