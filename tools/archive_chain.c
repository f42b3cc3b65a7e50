/*
 * archive_chain.c — streaming chain check of a monthly archive (archive_chain.h): the stored
 * row_hash must be the recomputed one, seq must grow by exactly one and prev_hash must be the
 * previous row's row_hash.
 */
#include "archive_chain.h"

#include <string.h>

void archive_chain_init(archive_chain *c)
{
    memset(c, 0, sizeof *c);
}

const char *archive_chain_add(archive_chain *c, int64_t seq,
                              const unsigned char prev[ARCHIVE_HASH_LEN],
                              const unsigned char stored[ARCHIVE_HASH_LEN],
                              const unsigned char computed[ARCHIVE_HASH_LEN])
{
    const char *problem = NULL;
    if (memcmp(stored, computed, ARCHIVE_HASH_LEN) != 0)
        problem = "row_hash does not match the row's content";
    else if (c->rows > 0 && seq != c->last_seq + 1)
        problem = "seq does not follow the previous row (a row removed, added or moved)";
    else if (c->rows > 0 && memcmp(prev, c->last_row, ARCHIVE_HASH_LEN) != 0)
        problem = "prev_hash is not the previous row's row_hash";
    if (c->rows == 0) {
        c->first_seq = seq;
        memcpy(c->first_prev, prev, ARCHIVE_HASH_LEN);
    }
    c->rows++;
    c->last_seq = seq;
    memcpy(c->last_row, stored, ARCHIVE_HASH_LEN);
    if (problem) c->failures++;
    return problem;
}
