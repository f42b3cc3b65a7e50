/* stage09_throttle.c — abuse limits on the identified member: its token bucket first (a refused
 * request must not use up its message id, or the client's retry would look like a replay), then
 * the replay guard on the message id it sent in the pide-gateway header (or as wsa:MessageID) and, for a WS-Security
 * signed request without one, on the key its signature fixes (Timestamp and digests, wss.h):
 * the same signed bytes sent again are a replay either way. */
#include <math.h>

#include "clock.h"
#include "pipeline.h"
#include "rate_limit.h"
#include "replay_guard.h"
#include "runtime.h"

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
    if (ex->message_id &&
        gw_replay_guard_check(ex->rt->replay, ex->client_member, ex->message_id, now) != GW_OK)
        return gw_exchange_fail(ex, GW_ERR_REPLAY, "message id '%s' already received from %s",
                                ex->message_id, ex->client_member);
    /* The "wss:" prefix keeps these keys apart from any pgw:id a client could choose. */
    const char *signed_key = ex->request_replay_key ? ex->request_replay_key : "wss:";
    if (!ex->header.id && ex->request_signed &&
        gw_replay_guard_check(ex->rt->replay, ex->client_member, signed_key, now) != GW_OK)
        return gw_exchange_fail(ex, GW_ERR_REPLAY,
                                "this signed message (same Timestamp and signed content, "
                                "no pgw:id) was already received from %s",
                                ex->client_member);
    return GW_OK;
}
