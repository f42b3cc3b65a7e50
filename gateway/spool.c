/*
 * spool.c — the durable local spool of exchange-log rows (spool.h): segment files of
 * length-prefixed, CRC-32C-checked records, one fdatasync per appended batch, a replay position
 * replaced atomically, torn tails cut at open and corruption reported, never skipped.
 */
#include "spool.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define REC_MAGIC UINT32_C(0x50535031) /* "PSP1" */
#define REC_HDR 12
#define OFFSET_MAGIC UINT32_C(0x5053504f) /* "PSPO" */
#define OFFSET_FILE "replay.offset"
#define OFFSET_TMP "replay.offset.tmp"
#define OFFSET_LEN 24
/* A segment is closed for appends once it holds this share of the bound (or 64 MiB). */
#define SEG_MAX_CAP ((uint64_t)64 << 20)
/* A peek reads at most this many payload bytes (at least one record). */
#define PEEK_MAX_BYTES ((size_t)8 << 20)

typedef struct seg_info {
    uint64_t no;
    uint64_t size; /* durable bytes */
} seg_info;

struct gw_spool {
    char *dir;
    int dir_fd;
    int wfd; /* the last segment, for appends */
    uint64_t max_bytes, seg_max;
    pthread_mutex_t lock;
    seg_info *segs;
    size_t nsegs, cap;
    uint64_t read_seg, read_off; /* durable replay position */
    uint64_t records, total_bytes, replayed_total, full_total, torn_bytes;
    bool corrupt, failed, full_now;
};

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ UINT32_C(0x82F63B78) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t gw_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static uint32_t record_crc(const unsigned char len_be[4], const unsigned char *payload, size_t n)
{
    return gw_crc32c(gw_crc32c(0, len_be, 4), payload, n);
}

/* ---- files ---- */

static void seg_name(uint64_t no, char out[40])
{
    snprintf(out, 40, "seg-%016" PRIx64 ".spool", no);
}

/* "seg-" 16 lowercase hex digits ".spool" */
static bool parse_seg_name(const char *name, uint64_t *no)
{
    if (strlen(name) != 26 || strncmp(name, "seg-", 4) != 0 || strcmp(name + 20, ".spool") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *no = v;
    return true;
}

static bool full_pread(int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

static bool full_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

/* Validates the record at off of a file of size bytes: its total length, or 0 when invalid.
 * With payload non-NULL the payload is returned in a new allocation. */
static uint64_t record_at(int fd, uint64_t off, uint64_t size, unsigned char **payload,
                          size_t *plen)
{
    unsigned char hdr[REC_HDR];
    if (size - off < REC_HDR || !full_pread(fd, hdr, REC_HDR, off))
        return 0;
    if (get32(hdr) != REC_MAGIC)
        return 0;
    uint32_t len = get32(hdr + 4);
    if (len > size - off - REC_HDR)
        return 0;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    if ((len && !full_pread(fd, buf, len, off + REC_HDR)) ||
        record_crc(hdr + 4, buf, len) != get32(hdr + 8)) {
        free(buf);
        return 0;
    }
    if (payload) {
        *payload = buf;
        *plen = len;
    } else {
        free(buf);
    }
    return REC_HDR + (uint64_t)len;
}

/* Is there any valid record starting after off? Decides torn tail (no) from corruption (yes). */
static bool valid_record_after(int fd, uint64_t off, uint64_t size)
{
    unsigned char m[4];
    for (uint64_t q = off + 1; q + REC_HDR <= size; q++) {
        if (!full_pread(fd, m, 4, q))
            return false;
        if (get32(m) == REC_MAGIC && record_at(fd, q, size, NULL, NULL) > 0)
            return true;
    }
    return false;
}

static bool sync_dir(gw_spool *sp) { return fsync(sp->dir_fd) == 0; }

static gw_status write_offset(gw_spool *sp, uint64_t seg, uint64_t off, char *err, size_t errlen)
{
    unsigned char buf[OFFSET_LEN];
    put32(buf, OFFSET_MAGIC);
    put64(buf + 4, seg);
    put64(buf + 12, off);
    put32(buf + 20, gw_crc32c(0, buf, 20));
    int fd = openat(sp->dir_fd, OFFSET_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (!full_pwrite(fd, buf, sizeof buf, 0) || fsync(fd) != 0) {
        close(fd);
        goto fail;
    }
    close(fd);
    if (renameat(sp->dir_fd, OFFSET_TMP, sp->dir_fd, OFFSET_FILE) != 0 || !sync_dir(sp))
        goto fail;
    return GW_OK;
fail:
    gw_set_error(err, errlen, "spool %s: cannot write %s: %s", sp->dir, OFFSET_FILE,
                 strerror(errno));
    return GW_ERR_IO;
}

/* 1 read, 0 absent, -1 unreadable or corrupt. */
static int read_offset(gw_spool *sp, uint64_t *seg, uint64_t *off)
{
    int fd = openat(sp->dir_fd, OFFSET_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    unsigned char buf[OFFSET_LEN + 1];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != OFFSET_LEN || get32(buf) != OFFSET_MAGIC || gw_crc32c(0, buf, 20) != get32(buf + 20))
        return -1;
    *seg = get64(buf + 4);
    *off = get64(buf + 12);
    return 1;
}

static bool seg_push(gw_spool *sp, uint64_t no, uint64_t size)
{
    if (sp->nsegs == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 8;
        seg_info *s = realloc(sp->segs, cap * sizeof *s);
        if (!s)
            return false;
        sp->segs = s;
        sp->cap = cap;
    }
    sp->segs[sp->nsegs++] = (seg_info){no, size};
    return true;
}

static int seg_cmp(const void *a, const void *b)
{
    uint64_t x = ((const seg_info *)a)->no, y = ((const seg_info *)b)->no;
    return x < y ? -1 : x > y;
}

/* Creates segment no (empty, durable) and makes it the append target. */
static gw_status new_segment(gw_spool *sp, uint64_t no, char *err, size_t errlen)
{
    char name[40];
    seg_name(no, name);
    int fd = openat(sp->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || !sync_dir(sp)) {
        gw_set_error(err, errlen, "spool %s: cannot create %s: %s", sp->dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return GW_ERR_IO;
    }
    pthread_mutex_lock(&sp->lock);
    bool ok = seg_push(sp, no, 0);
    pthread_mutex_unlock(&sp->lock);
    if (!ok) {
        close(fd);
        gw_set_error(err, errlen, "spool: out of memory");
        return GW_ERR_NOMEM;
    }
    if (sp->wfd >= 0)
        close(sp->wfd);
    sp->wfd = fd;
    return GW_OK;
}

static gw_status check_dir(const char *dir, int *out_fd, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        gw_set_error(err, errlen, "spool dir %s: cannot create: %s", dir, strerror(errno));
        return GW_ERR_CONFIG;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        gw_set_error(err, errlen, "spool dir %s: cannot open (a folder, not a symlink): %s", dir,
                     strerror(errno));
        if (fd >= 0)
            close(fd);
        return GW_ERR_CONFIG;
    }
    const char *why = NULL;
    if (st.st_uid != geteuid())
        why = "is not owned by the gateway's user";
    else if (st.st_mode & 0077)
        why = "must be mode 0700 (no group or other access: it holds exchange data)";
    if (why) {
        gw_set_error(err, errlen, "spool dir %s %s", dir, why);
        close(fd);
        return GW_ERR_CONFIG;
    }
    *out_fd = fd;
    return GW_OK;
}

/* Scans one segment from off: counts its valid records; cuts a torn tail of the last segment;
 * marks corruption. */
static gw_status scan_segment(gw_spool *sp, size_t i, uint64_t off, char *err, size_t errlen)
{
    char name[40];
    seg_name(sp->segs[i].no, name);
    int fd = openat(sp->dir_fd, name, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        gw_set_error(err, errlen, "spool %s: cannot open %s: %s", sp->dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return GW_ERR_IO;
    }
    uint64_t size = (uint64_t)st.st_size;
    sp->segs[i].size = size;
    if (off > size) {
        close(fd);
        gw_set_error(err, errlen, "spool %s: %s points past the end of %s", sp->dir, OFFSET_FILE,
                     name);
        return GW_ERR_IO;
    }
    while (off < size) {
        uint64_t n = record_at(fd, off, size, NULL, NULL);
        if (n > 0) {
            sp->records++;
            off += n;
            continue;
        }
        if (i + 1 == sp->nsegs && !valid_record_after(fd, off, size)) {
            gw_log(PIDE_LOG_WARN,
                   "spool %s: cutting a torn tail of %" PRIu64 " bytes at %s offset %" PRIu64
                   " (an append interrupted by a crash; never acknowledged)",
                   sp->dir, size - off, name, off);
            if (ftruncate(fd, (off_t)off) != 0 || fsync(fd) != 0) {
                gw_set_error(err, errlen, "spool %s: cannot cut the torn tail of %s: %s", sp->dir,
                             name, strerror(errno));
                close(fd);
                return GW_ERR_IO;
            }
            sp->torn_bytes += size - off;
            sp->segs[i].size = off;
        } else {
            gw_log(PIDE_LOG_ERROR,
                   "spool %s: corrupt record at %s offset %" PRIu64
                   ": replay will stop there; operator action needed (docs/operator-guide.md)",
                   sp->dir, name, off);
            sp->corrupt = true;
        }
        break;
    }
    close(fd);
    return GW_OK;
}

gw_status gw_spool_open(const char *dir, uint64_t max_bytes, gw_spool **out, char *err,
                        size_t errlen)
{
    gw_status st = GW_ERR_INVALID_ARG;
    gw_spool *sp = NULL;
    DIR *d = NULL;
    if (!dir || !out || max_bytes < 4096) {
        gw_set_error(err, errlen, "spool: a folder and a bound of at least 4096 bytes needed");
        return GW_ERR_INVALID_ARG;
    }
    *out = NULL;
    st = GW_ERR_NOMEM;
    sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->dir = strdup(dir)))
        goto fail;
    sp->dir_fd = -1;
    sp->wfd = -1;
    pthread_mutex_init(&sp->lock, NULL);
    sp->max_bytes = max_bytes;
    sp->seg_max = max_bytes / 4 < SEG_MAX_CAP ? max_bytes / 4 : SEG_MAX_CAP;
    if ((st = check_dir(dir, &sp->dir_fd, err, errlen)) != GW_OK)
        goto fail;

    int dfd = dup(sp->dir_fd);
    if (dfd < 0 || !(d = fdopendir(dfd))) {
        if (dfd >= 0)
            close(dfd);
        gw_set_error(err, errlen, "spool %s: cannot list: %s", dir, strerror(errno));
        st = GW_ERR_IO;
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t no;
        if (parse_seg_name(de->d_name, &no)) {
            st = GW_ERR_NOMEM;
            if (!seg_push(sp, no, 0))
                goto fail;
        }
    }
    closedir(d);
    d = NULL;
    unlinkat(sp->dir_fd, OFFSET_TMP, 0);
    if (sp->nsegs) /* qsort wants a non-NULL array even for none */
        qsort(sp->segs, sp->nsegs, sizeof *sp->segs, seg_cmp);

    uint64_t rseg = 0, roff = 0;
    int have = read_offset(sp, &rseg, &roff);
    if (have < 0) {
        gw_set_error(err, errlen, "spool %s: %s is unreadable or corrupt", dir, OFFSET_FILE);
        st = GW_ERR_IO;
        goto fail;
    }
    if (have == 0) {
        rseg = sp->nsegs ? sp->segs[0].no : 1;
        roff = 0;
    }
    /* Segments before the replay position were replayed; a crash left them undeleted. */
    size_t first = 0;
    while (first < sp->nsegs && sp->segs[first].no < rseg) {
        char name[40];
        seg_name(sp->segs[first].no, name);
        unlinkat(sp->dir_fd, name, 0);
        first++;
    }
    if (first) /* none gone: segs may be NULL, which memmove does not take */
        memmove(sp->segs, sp->segs + first, (sp->nsegs - first) * sizeof *sp->segs);
    sp->nsegs -= first;
    if (sp->nsegs && sp->segs[0].no != rseg)
        roff = 0; /* its segment was empty and deleted */
    if (sp->nsegs)
        rseg = sp->segs[0].no;
    sync_dir(sp);
    for (size_t i = 0; i < sp->nsegs; i++) {
        if (!sp->corrupt) {
            if ((st = scan_segment(sp, i, i == 0 ? roff : 0, err, errlen)) != GW_OK)
                goto fail;
            continue;
        }
        /* After corruption nothing is counted (replay stops there), but the bytes are. */
        char name[40];
        struct stat sst;
        seg_name(sp->segs[i].no, name);
        if (fstatat(sp->dir_fd, name, &sst, 0) == 0)
            sp->segs[i].size = (uint64_t)sst.st_size;
    }
    for (size_t i = 0; i < sp->nsegs; i++)
        sp->total_bytes += sp->segs[i].size;
    sp->read_seg = rseg;
    sp->read_off = roff;
    if (sp->nsegs == 0) {
        if ((st = new_segment(sp, rseg, err, errlen)) != GW_OK ||
            (st = write_offset(sp, rseg, 0, err, errlen)) != GW_OK)
            goto fail;
    } else {
        char name[40];
        seg_name(sp->segs[sp->nsegs - 1].no, name);
        sp->wfd = openat(sp->dir_fd, name, O_RDWR | O_CLOEXEC);
        if (sp->wfd < 0) {
            gw_set_error(err, errlen, "spool %s: cannot open %s: %s", dir, name, strerror(errno));
            st = GW_ERR_IO;
            goto fail;
        }
    }
    *out = sp;
    return GW_OK;
fail:
    if (st == GW_ERR_NOMEM)
        gw_set_error(err, errlen, "spool: out of memory");
    if (d)
        closedir(d);
    gw_spool_close(sp);
    return st;
}

void gw_spool_close(gw_spool *sp)
{
    if (!sp)
        return;
    if (sp->wfd >= 0)
        close(sp->wfd);
    if (sp->dir_fd >= 0)
        close(sp->dir_fd);
    pthread_mutex_destroy(&sp->lock);
    free(sp->segs);
    free(sp->dir);
    free(sp);
}

gw_status gw_spool_append(gw_spool *sp, const unsigned char *const *data, const size_t *len,
                          size_t n, char *err, size_t errlen)
{
    gw_status st;
    unsigned char *buf = NULL;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (len[i] > UINT32_MAX || len[i] + REC_HDR > sp->max_bytes) {
            gw_set_error(err, errlen, "spool: a record of %zu bytes exceeds the spool", len[i]);
            return GW_ERR_LOG_UNAVAILABLE;
        }
        bytes += REC_HDR + len[i];
    }
    if (n == 0)
        return GW_OK;

    pthread_mutex_lock(&sp->lock);
    bool failed = sp->failed, full = sp->total_bytes + bytes > sp->max_bytes;
    if (full && !failed)
        sp->full_total++;
    sp->full_now = full;
    uint64_t seg_size = sp->segs[sp->nsegs - 1].size;
    uint64_t seg_no = sp->segs[sp->nsegs - 1].no;
    pthread_mutex_unlock(&sp->lock);
    if (failed) {
        gw_set_error(err, errlen, "spool %s: an earlier write failed; no more appends", sp->dir);
        return GW_ERR_IO;
    }
    if (full) {
        gw_set_error(err, errlen, "spool %s is full (%" PRIu64 " bytes bound)", sp->dir,
                     sp->max_bytes);
        return GW_ERR_LOG_UNAVAILABLE;
    }
    if (seg_size > 0 && seg_size + bytes > sp->seg_max) {
        if ((st = new_segment(sp, seg_no + 1, err, errlen)) != GW_OK)
            goto fail;
        seg_size = 0;
    }

    st = GW_ERR_NOMEM;
    buf = malloc((size_t)bytes);
    if (!buf) {
        gw_set_error(err, errlen, "spool: out of memory");
        return GW_ERR_NOMEM;
    }
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        put32(p, REC_MAGIC);
        put32(p + 4, (uint32_t)len[i]);
        put32(p + 8, record_crc(p + 4, data[i], len[i]));
        if (len[i])
            memcpy(p + REC_HDR, data[i], len[i]);
        p += REC_HDR + len[i];
    }
    /* One write, one fdatasync for the batch: the callers' answers wait for this. */
    if (!full_pwrite(sp->wfd, buf, (size_t)bytes, seg_size) || fdatasync(sp->wfd) != 0) {
        gw_set_error(err, errlen, "spool %s: write or fdatasync failed: %s", sp->dir,
                     strerror(errno));
        st = GW_ERR_IO;
        goto fail;
    }
    free(buf);
    pthread_mutex_lock(&sp->lock);
    sp->segs[sp->nsegs - 1].size = seg_size + bytes;
    sp->total_bytes += bytes;
    sp->records += n;
    pthread_mutex_unlock(&sp->lock);
    return GW_OK;
fail:
    free(buf);
    if (st == GW_ERR_IO) {
        /* After a failed fsync the page cache may no longer match the disk: stop appending
         * rather than trust a retry. The records before stay; a partial tail is cut at open. */
        pthread_mutex_lock(&sp->lock);
        sp->failed = true;
        pthread_mutex_unlock(&sp->lock);
        gw_log(PIDE_LOG_ERROR, "%s", err ? err : "spool write failed");
    }
    return st;
}

void gw_spool_batch_free(gw_spool_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->data[i]);
    free(b->data);
    free(b->len);
    memset(b, 0, sizeof *b);
}

gw_status gw_spool_peek(gw_spool *sp, size_t max_records, gw_spool_batch *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&sp->lock);
    uint64_t seg = sp->read_seg, off = sp->read_off, size = 0;
    bool corrupt = sp->corrupt, found = false;
    uint64_t waiting = sp->records;
    for (size_t i = 0; i < sp->nsegs; i++) {
        if (sp->segs[i].no < seg)
            continue;
        if (sp->segs[i].no > seg) { /* the position's segment is used up */
            seg = sp->segs[i].no;
            off = 0;
        }
        size = sp->segs[i].size;
        if (off < size) {
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&sp->lock);
    out->end_seg = seg;
    out->end_off = off;
    if (!found || (waiting == 0 && !corrupt))
        return GW_OK;
    /* Corrupt: what follows the counted records starts with the bad one; read it to fail. */
    if (waiting == 0)
        waiting = 1;

    char name[40];
    seg_name(seg, name);
    int fd = openat(sp->dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        gw_set_error(err, errlen, "spool %s: cannot open %s: %s", sp->dir, name, strerror(errno));
        return GW_ERR_IO;
    }
    if (max_records > waiting)
        max_records = (size_t)waiting;
    out->data = calloc(max_records, sizeof *out->data);
    out->len = calloc(max_records, sizeof *out->len);
    gw_status st = GW_ERR_NOMEM;
    if (!out->data || !out->len)
        goto fail;
    size_t bytes = 0;
    while (out->n < max_records && off < size && bytes < PEEK_MAX_BYTES) {
        unsigned char *payload = NULL;
        size_t plen = 0;
        uint64_t n = record_at(fd, off, size, &payload, &plen);
        if (n == 0) {
            pthread_mutex_lock(&sp->lock);
            sp->corrupt = true;
            pthread_mutex_unlock(&sp->lock);
            gw_set_error(err, errlen,
                         "spool %s: corrupt record at %s offset %" PRIu64
                         ": replay stopped (operator action needed)",
                         sp->dir, name, off);
            if (out->n > 0)
                break; /* the good ones first; the next peek fails here */
            st = GW_ERR_IO;
            goto fail;
        }
        out->data[out->n] = payload;
        out->len[out->n++] = plen;
        off += n;
        bytes += plen;
    }
    close(fd);
    out->end_off = off;
    return GW_OK;
fail:
    close(fd);
    gw_spool_batch_free(out);
    return st;
}

gw_status gw_spool_consume(gw_spool *sp, const gw_spool_batch *b, char *err, size_t errlen)
{
    if (b->n == 0)
        return GW_OK;
    gw_status st = write_offset(sp, b->end_seg, b->end_off, err, errlen);
    if (st != GW_OK)
        return st;
    uint64_t gone[64];
    size_t ngone = 0;
    pthread_mutex_lock(&sp->lock);
    sp->read_seg = b->end_seg;
    sp->read_off = b->end_off;
    sp->records -= b->n;
    sp->replayed_total += b->n;
    /* Segments wholly before the position (never the append target, which is last). */
    size_t k = 0;
    while (k < sp->nsegs - 1 && sp->segs[k].no < b->end_seg && ngone < 64) {
        gone[ngone++] = sp->segs[k].no;
        sp->total_bytes -= sp->segs[k].size;
        k++;
    }
    if (k) /* none gone: segs may be NULL, which memmove does not take */
        memmove(sp->segs, sp->segs + k, (sp->nsegs - k) * sizeof *sp->segs);
    sp->nsegs -= k;
    if (k)
        sp->full_now = false;
    pthread_mutex_unlock(&sp->lock);
    for (size_t i = 0; i < ngone; i++) {
        char name[40];
        seg_name(gone[i], name);
        unlinkat(sp->dir_fd, name, 0);
    }
    if (ngone)
        sync_dir(sp);
    return GW_OK;
}

gw_status gw_spool_compact(gw_spool *sp, char *err, size_t errlen)
{
    pthread_mutex_lock(&sp->lock);
    bool idle = sp->records == 0 && !sp->corrupt && !sp->failed;
    uint64_t last = sp->segs[sp->nsegs - 1].no;
    bool worth = sp->total_bytes > 0;
    pthread_mutex_unlock(&sp->lock);
    if (!idle || !worth)
        return GW_OK;
    /* New empty segment, then the position into it, then the old files go. A crash between
     * steps leaves replayed segments that the next open deletes. */
    gw_status st = new_segment(sp, last + 1, err, errlen);
    if (st != GW_OK)
        return st;
    if ((st = write_offset(sp, last + 1, 0, err, errlen)) != GW_OK)
        return st;
    pthread_mutex_lock(&sp->lock);
    sp->read_seg = last + 1;
    sp->read_off = 0;
    size_t k = sp->nsegs - 1;
    uint64_t gone[64];
    size_t ngone = 0;
    for (size_t i = 0; i < k && ngone < 64; i++) {
        gone[ngone++] = sp->segs[i].no;
        sp->total_bytes -= sp->segs[i].size;
    }
    if (ngone) /* none gone: segs may be NULL, which memmove does not take */
        memmove(sp->segs, sp->segs + ngone, (sp->nsegs - ngone) * sizeof *sp->segs);
    sp->nsegs -= ngone;
    sp->full_now = false;
    pthread_mutex_unlock(&sp->lock);
    for (size_t i = 0; i < ngone; i++) {
        char name[40];
        seg_name(gone[i], name);
        unlinkat(sp->dir_fd, name, 0);
    }
    sync_dir(sp);
    return GW_OK;
}

void gw_spool_stats_of(gw_spool *sp, gw_spool_stats *out)
{
    pthread_mutex_lock(&sp->lock);
    *out = (gw_spool_stats){
        .bytes = sp->total_bytes,
        .records = sp->records,
        .replayed_total = sp->replayed_total,
        .full_total = sp->full_total,
        .torn_bytes = sp->torn_bytes,
        .max_bytes = sp->max_bytes,
        .full_now = sp->full_now,
        .corrupt = sp->corrupt,
        .failed = sp->failed,
    };
    pthread_mutex_unlock(&sp->lock);
}

bool gw_spool_is_empty(gw_spool *sp)
{
    pthread_mutex_lock(&sp->lock);
    bool empty = sp->records == 0;
    pthread_mutex_unlock(&sp->lock);
    return empty;
}
