/* exchange_env.c — a thread's per-exchange resources (see exchange_env.h). */
#include "exchange_env.h"

#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "service_catalog.h"
#include "xml_sign.h"

gw_status gw_exchange_env_init(gw_exchange_env *env, gw_signer *signer, size_t service_count,
                               int id)
{
    memset(env, 0, sizeof *env);
    env->id = id;
    env->http = gw_http_client_new();
    env->validator_count = service_count;
    env->validators = calloc(service_count ? service_count : 1, sizeof *env->validators);
    if (!env->http || !env->validators)
        goto fail;
    if (signer && gw_sign_ctx_new(signer, &env->sign) != GW_OK)
        goto fail;
    return GW_OK;
fail:
    gw_exchange_env_fini(env);
    return GW_ERR_NOMEM;
}

void gw_exchange_env_fini(gw_exchange_env *env)
{
    if (env->validators) {
        for (size_t i = 0; i < env->validator_count; i++)
            if (env->validators[i])
                xmlSchemaFreeValidCtxt(env->validators[i]);
        free(env->validators);
    }
    gw_http_client_free(env->http);
    if (env->sign)
        gw_sign_ctx_free(env->sign);
    memset(env, 0, sizeof *env);
}

gw_status gw_exchange_env_use(gw_exchange_env *env, unsigned long generation, size_t service_count)
{
    if (env->generation == generation && env->validators)
        return GW_OK;
    /* A validation context does not use its schema when freed: the old snapshot may be gone. */
    for (size_t i = 0; i < env->validator_count && env->validators; i++)
        if (env->validators[i])
            xmlSchemaFreeValidCtxt(env->validators[i]);
    free(env->validators);
    env->validator_count = 0;
    env->generation = generation;
    env->validators = calloc(service_count ? service_count : 1, sizeof *env->validators);
    if (!env->validators)
        return GW_ERR_NOMEM;
    env->validator_count = service_count;
    return GW_OK;
}

xmlSchemaValidCtxtPtr gw_exchange_env_validator(gw_exchange_env *env, const gw_service *svc)
{
    if (!svc->schema || !env->validators || svc->index >= env->validator_count)
        return NULL;
    if (!env->validators[svc->index])
        env->validators[svc->index] = xmlSchemaNewValidCtxt(svc->schema);
    return env->validators[svc->index];
}
