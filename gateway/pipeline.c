/* pipeline.c — the order of the stages (see pipeline.h). */
#include "pipeline.h"

#include <string.h>

#include "log.h"
#include "response.h"

struct stage {
    const char *name;
    gw_stage_fn run;
};

static const struct stage request_stages[] = {
    {"receive", gw_stage_receive},     {"parse", gw_stage_parse},       {"header", gw_stage_header},
    {"route", gw_stage_route},         {"validate", gw_stage_validate}, {"verify", gw_stage_verify},
    {"identify", gw_stage_identify},   {"bind", gw_stage_bind},
    {"authorize", gw_stage_authorize}, {"throttle", gw_stage_throttle}, {"invoke", gw_stage_invoke},
};

static const struct stage response_stages[] = {
    {"sign", gw_stage_sign},
    {"log", gw_stage_log},
    {"reply", gw_stage_reply},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void gw_pipeline_run(gw_exchange *ex, gw_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    ex->reply = resp;
    for (size_t i = 0; i < COUNT(request_stages); i++) {
        gw_status st = request_stages[i].run(ex);
        if (st != GW_OK) {
            ex->status = st;
            gw_log(PIDE_LOG_DEBUG, "[%s] %s: %s", ex->exchange_id, request_stages[i].name,
                   gw_status_fault_code(st));
            break;
        }
    }
    if (ex->status != GW_OK && gw_response_set_fault(ex) != GW_OK)
        gw_log(PIDE_LOG_ERROR, "[%s] cannot build the fault response", ex->exchange_id);
    /* Every response stage runs whatever the one before returned: each one records its own
     * failure in the exchange (sign: Server.Signature; log: Server.LogUnavailable). */
    for (size_t i = 0; i < COUNT(response_stages); i++)
        if (response_stages[i].run(ex) != GW_OK)
            gw_log(PIDE_LOG_DEBUG, "[%s] %s: %s", ex->exchange_id, response_stages[i].name,
                   gw_status_fault_code(ex->status));
}

void gw_pipeline_log_settled(gw_exchange *ex, gw_status log_status, gw_http_response *resp)
{
    ex->log_pending = 0;
    ex->reply = resp;
    if (log_status == GW_OK)
        return;
    gw_log_refused(ex, log_status);
    if (gw_stage_reply(ex) != GW_OK)
        gw_log(PIDE_LOG_ERROR, "[%s] cannot make the response", ex->exchange_id);
}

gw_status gw_pipeline_run_stages(gw_exchange *ex, const char *const *names, size_t count)
{
    const struct stage *tables[] = {request_stages, response_stages};
    const size_t sizes[] = {COUNT(request_stages), COUNT(response_stages)};
    for (size_t t = 0; t < 2; t++) {
        for (size_t i = 0; i < sizes[t]; i++) {
            int wanted = 0;
            for (size_t k = 0; k < count && !wanted; k++)
                wanted = strcmp(names[k], tables[t][i].name) == 0;
            if (!wanted)
                continue;
            gw_status st = tables[t][i].run(ex);
            if (st != GW_OK) {
                if (ex->status == GW_OK)
                    ex->status = st;
                return st;
            }
        }
    }
    return GW_OK;
}
