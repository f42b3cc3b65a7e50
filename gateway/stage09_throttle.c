/* stage09_throttle.c — abuse limits on the identified member: its token bucket first (a refused
 * request must not use up its message id, or the client's retry would look like a replay), then
 * the replay guard on the message id it sent in the pide-gateway header (or as wsa:MessageID) and, for a WS-Security
 * signed request without one, on the key its signature fixes (Timestamp and digests, wss.h):
 * the same signed bytes sent again are a replay either way. With replayScope="cluster" the id
 * is also checked against every node's in the database (replay_store.h, docs/scaling.md); when
 * that check cannot be made the exchange is refused (Server.LogUnavailable), never let through
 * unchecked. */
#include <math.h>

#include "clock.h"
#include "log.h"
#include "pipeline.h"
#include "rate_limit.h"
#include "replay_guard.h"
#include "replay_store.h"
#include "runtime.h"

/* GW_OK: first sighting on this node and, in cluster scope, on every node. GW_ERR_REPLAY: seen.
 * GW_ERR_LOG_UNAVAILABLE: the shared window gave no answer (this node forgets the id again, so
 * the client's retry is judged afresh). */
static gw_status check_replay(gw_exchange *ex, const char *key, int64_t now)
{
    if (gw_replay_guard_check(ex->rt->replay, ex->client_member, key, now) != GW_OK)
        return GW_ERR_REPLAY;
    if (!ex->rt->replay_store)
        return GW_OK;
    char why[256];
    gw_status st =
        gw_replay_store_check(ex->rt->replay_store, ex->client_member, key, why, sizeof why);
    if (st == GW_OK || st == GW_ERR_REPLAY)
        return st;
    gw_replay_guard_forget(ex->rt->replay, ex->client_member, key);
    gw_log(PIDE_LOG_ERROR, "exchange refused: the shared replay window cannot be checked: %s", why);
    return GW_ERR_LOG_UNAVAILABLE;
}

static gw_status store_unavailable(gw_exchange *ex)
{
    return gw_exchange_fail(ex, GW_ERR_LOG_UNAVAILABLE,
                            "the message id cannot be checked against the other gateway nodes "
                            "(replay store unavailable); try again later");
}

gw_status gw_stage_throttle(gw_exchange *ex)
{
    int64_t now = gw_monotonic_us();
    if (ex->rt->rate) {
        double retry_after = 0;
        if (gw_rate_limit_take(ex->rt->rate, ex->client_member, now, &retry_after) != GW_OK) {
            ex->retry_after_s = retry_after < 1 ? 1 : (int)ceil(retry_after);
            return gw_exchange_fail(ex, GW_ERR_RATE_LIMITED, "member %s: retry after %d s",
                                    ex->client_member, ex->retry_after_s);
        }
    }
    /* pgw:id, else wsa:MessageID (stage03): one namespace of caller-chosen ids per member. */
    gw_status st;
    if (ex->message_id && (st = check_replay(ex, ex->message_id, now)) != GW_OK)
        return st == GW_ERR_REPLAY
                   ? gw_exchange_fail(ex, GW_ERR_REPLAY, "message id '%s' already received from %s",
                                      ex->message_id, ex->client_member)
                   : store_unavailable(ex);
    /* The "wss:" prefix keeps these keys apart from any pgw:id a client could choose. */
    const char *signed_key = ex->request_replay_key ? ex->request_replay_key : "wss:";
    if (!ex->header.id && ex->request_signed && (st = check_replay(ex, signed_key, now)) != GW_OK)
        return st == GW_ERR_REPLAY
                   ? gw_exchange_fail(ex, GW_ERR_REPLAY,
                                      "this signed message (same Timestamp and signed content, "
                                      "no pgw:id) was already received from %s",
                                      ex->client_member)
                   : store_unavailable(ex);
    return GW_OK;
}
