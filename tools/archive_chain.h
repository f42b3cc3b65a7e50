/*
 * archive_chain.h — the streaming chain check of a monthly archive (`pide-audit verify-archive`,
 * docs/auditor-guide.md "Archives and retention"): rows are fed one at a time in file order
 * with their stored prev_hash / row_hash and the row hash recomputed from their content; it
 * keeps only the previous row, so a month of any size is checked in constant memory.
 */
#ifndef PIDE_ARCHIVE_CHAIN_H
#define PIDE_ARCHIVE_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#define ARCHIVE_HASH_LEN 32

typedef struct archive_chain {
    int64_t rows, first_seq, last_seq, failures;
    unsigned char first_prev[ARCHIVE_HASH_LEN], last_row[ARCHIVE_HASH_LEN];
} archive_chain;

void archive_chain_init(archive_chain *c);

/* One row. NULL when it holds, else what is wrong (a static string); the row still becomes the
 * previous one, so one bad row is named once and the rest is checked against it. */
const char *archive_chain_add(archive_chain *c, int64_t seq,
                              const unsigned char prev[ARCHIVE_HASH_LEN],
                              const unsigned char stored[ARCHIVE_HASH_LEN],
                              const unsigned char computed[ARCHIVE_HASH_LEN]);

#endif
