/*
 * migraciones_sim.c — migraciones-sim: the Migraciones card register simulator. Speaks
 * Migraciones' internal REST/JSON protocol (README.md) over pide_simcommon's HTTP server,
 * answering from migraciones_data; JSON is built with jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "migraciones_data.h"
#include "migraciones_protocol.h"
#include "sim_buf.h"
#include "sim_server.h"

#define JSON_CONTENT_TYPE "application/json; charset=utf-8"

/* Serialises `doc` (consumed) as the body; 500 when it cannot. */
static void send_json(sim_response *resp, int status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    sim_response_set_content_type(resp, JSON_CONTENT_TYPE);
    if (!text) {
        resp->status = 500;
        sim_buf_append_str(&resp->body, "{\"error\":{\"codigo\":\"" MIGRA_ERR_INTERNAL "\"}}");
        return;
    }
    resp->status = status;
    sim_buf_append_str(&resp->body, text);
    free(text);
}

static void send_error(sim_response *resp, int status, const char *codigo, const char *mensaje)
{
    send_json(resp, status, json_pack("{s:{s:s,s:s}}", "error", "codigo", codigo,
                                      "mensaje", mensaje));
}

static json_t *card_json(migra_resultado r, const migra_carne *c)
{
    json_t *titular = json_pack("{s:s,s:s,s:o,s:s,s:s%,s:s}",
                                "nombres", c->nombres,
                                "apellidoPaterno", c->apellido_paterno,
                                "apellidoMaterno",
                                c->apellido_materno ? json_string(c->apellido_materno)
                                                    : json_null(),
                                "nacionalidad", c->nacionalidad,
                                "sexo", &c->sexo, (size_t)1,
                                "fechaNacimiento", c->fecha_nacimiento);
    json_t *card = json_pack("{s:s,s:s,s:o,s:s,s:s,s:s}",
                             "numero", c->numero,
                             "estado", migra_estado_carne(r),
                             "titular", titular,
                             "calidadMigratoria", c->calidad_migratoria,
                             "fechaEmision", c->fecha_emision,
                             "fechaVencimiento", c->fecha_vencimiento);
    if (card && c->motivo_anulacion &&
        json_object_set_new(card, "motivoAnulacion", json_string(c->motivo_anulacion)) != 0) {
        json_decref(card);
        return NULL;
    }
    return card;
}

/* The value of query parameter `name` in target ("/path?a=1&b=2"), copied into buf; NULL when
 * absent. No percent-decoding: entity codes are plain [A-Za-z0-9._-]. */
static const char *query_param(const char *target, const char *name, char *buf, size_t cap)
{
    const char *q = strchr(target, '?');
    size_t name_len = strlen(name);
    while (q) {
        q++;
        if (strncmp(q, name, name_len) == 0 && q[name_len] == '=') {
            const char *v = q + name_len + 1;
            size_t len = strcspn(v, "&#");
            if (len >= cap)
                len = cap - 1;
            memcpy(buf, v, len);
            buf[len] = '\0';
            return buf;
        }
        q = strchr(q, '&');
    }
    return NULL;
}

static bool path_is(const char *target, const char *path, size_t path_len)
{
    return path_len == strlen(path) && strncmp(target, path, path_len) == 0;
}

static void handle_card(const char *target, size_t path_len, sim_response *resp)
{
    static const char prefix[] = MIGRA_CARNES_PATH "/";
    char numero[32];
    size_t num_len = path_len - (sizeof prefix - 1);
    if (num_len >= sizeof numero) {
        send_error(resp, 400, MIGRA_ERR_BAD_NUMBER, "El numero de carne debe tener 9 digitos");
        return;
    }
    memcpy(numero, target + sizeof prefix - 1, num_len);
    numero[num_len] = '\0';

    char entidad[64];
    if (!query_param(target, MIGRA_ENTITY_QUERY, entidad, sizeof entidad) || !entidad[0]) {
        send_error(resp, 400, MIGRA_ERR_NO_ENTITY,
                   "Indique la entidad consultante (parametro " MIGRA_ENTITY_QUERY ")");
        return;
    }
    if (strcmp(entidad, MIGRA_BLOCKED_ENTITY) == 0) {
        send_error(resp, 403, MIGRA_ERR_ENTITY_DENIED,
                   "La entidad no tiene convenio vigente con Migraciones");
        return;
    }

    migra_carne c;
    migra_resultado r = migra_consultar(numero, &c);
    switch (r) {
    case MIGRA_VIGENTE:
    case MIGRA_VENCIDO:
    case MIGRA_ANULADO:
        send_json(resp, 200, card_json(r, &c));
        break;
    case MIGRA_NO_EXISTE:
        send_error(resp, 404, MIGRA_ERR_NOT_FOUND, "No existe carne de extranjeria con ese numero");
        break;
    case MIGRA_NUMERO_INVALIDO:
        send_error(resp, 400, MIGRA_ERR_BAD_NUMBER, "El numero de carne debe tener 9 digitos");
        break;
    case MIGRA_MANTENIMIENTO:
        send_error(resp, 503, MIGRA_ERR_MAINTENANCE, "Servicio en mantenimiento");
        break;
    case MIGRA_FORMA_INCORRECTA:
        send_json(resp, 200, json_pack("{s:s,s:s,s:[s,s]}", "numero", numero,
                                       "estado", "VIGENTE", "titular", "?", "?"));
        break;
    case MIGRA_JSON_INVALIDO:
        sim_response_set_content_type(resp, JSON_CONTENT_TYPE);
        sim_buf_printf(&resp->body, "{\"numero\":\"%s\",\"estado\":\"VIGENTE\",\"titular\":{\"nom",
                       numero);
        break;
    }
}

static void handle_request(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    static const char prefix[] = MIGRA_CARNES_PATH "/";
    size_t path_len = strcspn(req->target, "?#");
    bool is_card = path_len > sizeof prefix - 1 &&
                   strncmp(req->target, prefix, sizeof prefix - 1) == 0 &&
                   memchr(req->target + sizeof prefix - 1, '/', path_len - (sizeof prefix - 1)) == NULL;
    bool is_health = path_is(req->target, MIGRA_HEALTH_PATH, path_len);
    if (!is_card && !is_health) {
        send_error(resp, 404, MIGRA_ERR_NO_RESOURCE,
                   "Recurso inexistente; use GET " MIGRA_CARNES_PATH "/{numero}");
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        send_error(resp, 405, MIGRA_ERR_METHOD, "Solo se admite GET");
        return;
    }
    if (is_health)
        send_json(resp, 200, json_pack("{s:s}", "estado", "OK"));
    else
        handle_card(req->target, path_len, resp);
}

static void handle_injected_failure(void *ctx, const sim_request *req, sim_response *resp)
{
    (void)ctx;
    (void)req;
    send_error(resp, 500, MIGRA_ERR_INTERNAL, "Error interno del registro (falla simulada)");
}

int main(int argc, char **argv)
{
    sim_server_config cfg = {
        .name = "migraciones-sim",
        .handler = handle_request,
        .failure_handler = handle_injected_failure,
    };
    switch (sim_options_parse(&cfg.options, argc, argv, cfg.name,
                              "Simulates Migraciones' card register: REST/JSON at GET "
                              MIGRA_CARNES_PATH "/{numero}?" MIGRA_ENTITY_QUERY "=CODE.\n"
                              "See simulators/migraciones/README.md for the special numbers.")) {
    case SIM_OPTIONS_RUN: break;
    case SIM_OPTIONS_EXIT_OK: return 0;
    case SIM_OPTIONS_EXIT_USAGE: return 2;
    }
    /* jansson seeds its hash function on first use; do it before connection threads exist. */
    json_object_seed(0);
    return sim_server_run_until_signal(&cfg);
}
