/* service_catalog.c — loads each service's WSDL and XSD once at start-up (see the header). */
#include "service_catalog.h"

#include <libxml/parser.h>

#include "body_crypt.h"
#include "namespaces.h"
#include "xml_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlschemas.h>

static gw_status read_whole_file(const char *path, char **out, size_t *len, char *err,
                                 size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        gw_set_error(err, errlen, "%s: %s", path, strerror(errno));
        return GW_ERR_CONFIG;
    }
    if (fseek(f, 0, SEEK_END) != 0)
        goto fail;
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto fail;
    buf[n] = '\0';
    fclose(f);
    *out = buf;
    *len = (size_t)n;
    return GW_OK;
fail:
    gw_set_error(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    free(buf);
    fclose(f);
    return GW_ERR_CONFIG;
}

static gw_status load_schema(gw_service *svc, char *err, size_t errlen)
{
    gw_status st = read_whole_file(svc->config->schema_path, &svc->schema_text, &svc->schema_len,
                                   err, errlen);
    if (st != GW_OK)
        return st;
    const char *slash = strrchr(svc->config->schema_path, '/');
    svc->schema_file_name = slash ? slash + 1 : svc->config->schema_path;
    gw_xml_first_error fe = {.default_file = svc->config->schema_path};
    xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(svc->config->schema_path);
    if (!pctx) {
        gw_set_error(err, errlen, "%s: cannot create schema parser", svc->config->schema_path);
        return GW_ERR_CONFIG;
    }
    xmlSchemaSetParserStructuredErrors(pctx, gw_xml_keep_first_error, &fe);
    svc->schema = xmlSchemaParse(pctx);
    xmlSchemaFreeParserCtxt(pctx);
    if (!svc->schema) {
        if (fe.seen)
            gw_set_error(err, errlen, "%s", fe.text);
        else
            gw_set_error(err, errlen, "%s: not a valid XML schema", svc->config->schema_path);
        return GW_ERR_CONFIG;
    }
    /* A warning too: libxml2 only warns when an xs:import or xs:include cannot be loaded (one
     * naming the network never is: gw_xml_forbid_network), and a schema missing a part would
     * validate less than its author wrote. */
    if (fe.seen) {
        gw_set_error(err, errlen, "%s (the schema must load whole, without warnings)", fe.text);
        xmlSchemaFree(svc->schema);
        svc->schema = NULL;
        return GW_ERR_CONFIG;
    }
    /* The XSD's own document records its targetNamespace on the root element. */
    xmlDocPtr doc = xmlReadFile(svc->config->schema_path, NULL, XML_PARSE_NONET);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    xmlChar *tns = root ? xmlGetProp(root, BAD_CAST "targetNamespace") : NULL;
    svc->target_namespace = strdup(tns ? (const char *)tns : "");
    xmlFree(tns);
    xmlFreeDoc(doc);
    return svc->target_namespace ? GW_OK : GW_ERR_NOMEM;
}

/* A built-in service's configuration, owned by the catalogue. */
static gw_status builtin_config_build(const gw_config *cfg, const gw_builtin_service *b,
                                      const char *wsdl_path, const char *schema_path,
                                      gw_service_catalog *cat, gw_builtin_slot *slot)
{
    static char *all_operations[] = {"*", NULL};
    const pide_adapter *adapter = b->adapter();
    gw_service_config *sc = &slot->config;
    sc->name = (char *)b->name;
    sc->adapter = (char *)adapter->name;
    sc->wsdl_path = (char *)wsdl_path;
    sc->schema_path = (char *)schema_path;
    if (b->granted_to_all) {
        sc->grants = calloc(cfg->member_count ? cfg->member_count : 1, sizeof *sc->grants);
        if (!sc->grants)
            return GW_ERR_NOMEM;
        for (size_t i = 0; i < cfg->member_count; i++) {
            sc->grants[i].member_id = cfg->members[i].id;
            sc->grants[i].operations = all_operations;
        }
        sc->grant_count = cfg->member_count;
    } else if (b->grants) {
        const gw_grant *g = NULL;
        size_t n = 0;
        b->grants(cfg, &g, &n);
        if (!(sc->grants = calloc(n ? n : 1, sizeof *sc->grants)))
            return GW_ERR_NOMEM;
        if (n)
            memcpy(sc->grants, g, n * sizeof *g);
        sc->grant_count = n;
    }
    slot->pide_config.service_name = sc->name;
    slot->binding.adapter = adapter;
    slot->binding.instance = cat;
    slot->binding.service_config = &slot->pide_config;
    slot->binding.adapter_path = "(built in)";
    return GW_OK;
}

static size_t builtin_table_size(void)
{
    size_t n = 0;
    while (gw_builtin_services[n])
        n++;
    return n;
}

static gw_status builtins_add(const gw_config *cfg, gw_service_catalog *cat, char *err,
                              size_t errlen)
{
    for (size_t i = 0; gw_builtin_services[i]; i++) {
        const gw_builtin_service *b = gw_builtin_services[i];
        const char *wsdl_path = NULL, *schema_path = NULL;
        b->paths(cfg, &wsdl_path, &schema_path);
        if (!wsdl_path)
            continue;
        if (gw_config_find_service(cfg, b->name)) {
            gw_set_error(err, errlen, "service name '%s' is reserved for %s", b->name, b->what);
            return GW_ERR_CONFIG;
        }
        gw_builtin_slot *slot = &cat->builtins[cat->builtin_count++];
        gw_service *svc = &cat->services[cat->count];
        svc->index = cat->count++;
        svc->config = &slot->config;
        gw_status st;
        if ((st = builtin_config_build(cfg, b, wsdl_path, schema_path, cat, slot)) != GW_OK ||
            (st = read_whole_file(svc->config->wsdl_path, &svc->wsdl, &svc->wsdl_len, err,
                                  errlen)) != GW_OK ||
            (st = load_schema(svc, err, errlen)) != GW_OK)
            return st;
        svc->binding = &slot->binding;
    }
    return GW_OK;
}

/* The header schema the WSDLs import, from the directory of the first service's schema (the
 * schemas directory, installed or in the tree). Optional: without it only toolkits that fetch
 * the WSDLs from disk resolve the declared headers. */
static void header_schema_load(gw_service_catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++) {
        const char *sp = cat->services[i].config->schema_path;
        const char *slash = sp ? strrchr(sp, '/') : NULL;
        if (!slash)
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%.*s/%s", (int)(slash - sp), sp,
                             GW_HEADER_SCHEMA_FILE) >= sizeof path)
            continue;
        char err[256];
        if (read_whole_file(path, &cat->header_schema, &cat->header_schema_len, err,
                            sizeof err) == GW_OK)
            return;
    }
}

#define DESCRIPTION_MAX 400

/* The first element in document order named wsdl:documentation below n, or NULL. */
static xmlNodePtr first_documentation(xmlNodePtr n)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (c->ns && strcmp((const char *)c->ns->href, GW_WSDL_NS) == 0 &&
            strcmp((const char *)c->name, "documentation") == 0)
            return c;
        xmlNodePtr d = first_documentation(c);
        if (d)
            return d;
    }
    return NULL;
}

char *gw_wsdl_description(const char *wsdl, size_t len)
{
    if (!wsdl || len == 0 || len > 16u << 20)
        return NULL;
    xmlDocPtr doc = xmlReadMemory(wsdl, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr d = doc ? first_documentation(xmlDocGetRootElement(doc)) : NULL;
    xmlChar *text = d ? xmlNodeGetContent(d) : NULL;
    char *out = NULL;
    if (text) {
        size_t n = 0;
        out = malloc(DESCRIPTION_MAX + 1);
        int space = 1;
        for (const xmlChar *p = text; out && *p && n < DESCRIPTION_MAX; p++) {
            int blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
            if (blank && space)
                continue;
            out[n++] = blank ? ' ' : (char)*p;
            space = blank;
        }
        if (out) {
            /* Not in the middle of a UTF-8 sequence, and no trailing blank. */
            if (n == DESCRIPTION_MAX)
                while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
                    n--;
            while (n > 0 && out[n - 1] == ' ')
                n--;
            out[n] = '\0';
            if (n == 0) {
                free(out);
                out = NULL;
            }
        }
        xmlFree(text);
    }
    xmlFreeDoc(doc);
    return out;
}

gw_status gw_service_catalog_open(const gw_config *cfg, const gw_adapter_registry *adapters,
                                  gw_service_catalog *out, char *err, size_t errlen)
{
    gw_status st = GW_OK;
    memset(out, 0, sizeof *out);
    size_t builtins = builtin_table_size();
    out->services = calloc(cfg->service_count + builtins + 1, sizeof(gw_service));
    out->builtins = calloc(builtins + 1, sizeof *out->builtins);
    if (!out->services || !out->builtins) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < cfg->service_count; i++) {
        gw_service *svc = &out->services[i];
        svc->index = i;
        svc->config = &cfg->services[i];
        out->count = i + 1;
        st = read_whole_file(svc->config->wsdl_path, &svc->wsdl, &svc->wsdl_len, err, errlen);
        if (st != GW_OK)
            goto fail;
        st = load_schema(svc, err, errlen);
        if (st != GW_OK)
            goto fail;
        if (svc->config->encrypt_recipient_count &&
            (st = gw_body_crypt_new((const char *const *)svc->config->encrypt_recipients,
                                    svc->config->encrypt_recipient_count, &svc->body_crypt, err,
                                    errlen)) != GW_OK)
            goto fail;
        svc->binding = gw_adapter_registry_find(adapters, svc->config->name);
        if (!svc->binding) {
            gw_set_error(err, errlen, "service '%s': no adapter bound", svc->config->name);
            st = GW_ERR_CONFIG;
            goto fail;
        }
    }
    if ((st = builtins_add(cfg, out, err, errlen)) != GW_OK)
        goto fail;
    for (size_t i = 0; i < out->count; i++)
        out->services[i].description = gw_wsdl_description(out->services[i].wsdl,
                                                           out->services[i].wsdl_len);
    header_schema_load(out);
    return GW_OK;
fail:
    gw_service_catalog_close(out);
    return st;
}

void gw_service_catalog_close(gw_service_catalog *cat)
{
    for (size_t i = 0; i < cat->count; i++) {
        free(cat->services[i].wsdl);
        free(cat->services[i].description);
        free(cat->services[i].schema_text);
        free(cat->services[i].target_namespace);
        gw_body_crypt_free(cat->services[i].body_crypt);
        if (cat->services[i].schema)
            xmlSchemaFree(cat->services[i].schema);
    }
    free(cat->services);
    for (size_t i = 0; i < cat->builtin_count; i++)
        free(cat->builtins[i].config.grants);
    free(cat->builtins);
    free(cat->header_schema);
    memset(cat, 0, sizeof *cat);
}

const gw_service *gw_service_catalog_find(const gw_service_catalog *cat, const char *name)
{
    for (size_t i = 0; i < cat->count; i++)
        if (strcmp(cat->services[i].config->name, name) == 0)
            return &cat->services[i];
    return NULL;
}

const gw_service *gw_service_catalog_find_schema(const gw_service_catalog *cat,
                                                 const char *file_name)
{
    for (size_t i = 0; i < cat->count; i++)
        if (strcmp(cat->services[i].schema_file_name, file_name) == 0)
            return &cat->services[i];
    return NULL;
}

const char *gw_service_catalog_schema_text(const gw_service_catalog *cat, const char *file_name,
                                           size_t *len)
{
    if (cat->header_schema && strcmp(file_name, GW_HEADER_SCHEMA_FILE) == 0) {
        *len = cat->header_schema_len;
        return cat->header_schema;
    }
    const gw_service *svc = gw_service_catalog_find_schema(cat, file_name);
    if (!svc)
        return NULL;
    *len = svc->schema_len;
    return svc->schema_text;
}
