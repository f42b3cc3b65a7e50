/* pipeline.c — the order of the stages (see pipeline.h). */
#include "pipeline.h"

#include "log.h"
#include "response.h"

struct stage {
    const char *name;
    gw_stage_fn run;
};

static const struct stage request_stages[] = {
    {"receive", stage_receive},     {"parse", stage_parse},       {"header", stage_header},
    {"route", stage_route},         {"validate", stage_validate}, {"verify", stage_verify},
    {"identify", stage_identify},   {"bind", stage_bind},
    {"authorize", stage_authorize}, {"throttle", stage_throttle}, {"invoke", stage_invoke},
};

static const struct stage response_stages[] = {
    {"sign", stage_sign},
    {"log", stage_log},
    {"reply", stage_reply},
};

void pipeline_run(gw_exchange *ex)
{
    for (size_t i = 0; i < sizeof request_stages / sizeof request_stages[0]; i++) {
        gw_status st = request_stages[i].run(ex);
        if (st != GW_OK) {
            ex->status = st;
            gw_log(PIDE_LOG_DEBUG, "[%s] %s: %s", ex->exchange_id, request_stages[i].name,
                   gw_status_fault_code(st));
            break;
        }
    }
    if (ex->status != GW_OK && response_set_fault(ex) != GW_OK)
        gw_log(PIDE_LOG_ERROR, "[%s] cannot build the fault response", ex->exchange_id);
    for (size_t i = 0; i < sizeof response_stages / sizeof response_stages[0]; i++)
        if (response_stages[i].run(ex) != GW_OK && response_stages[i].run == stage_reply)
            gw_log(PIDE_LOG_DEBUG, "[%s] reply not delivered", ex->exchange_id);
}
