/* crl.c — revocation lists shared by the TLS handshake and the WS-Security signer check, re-read
 * when their files change (see crl.h). */
#include "crl.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "clock.h"
#include "log.h"

/* How often a lookup may look at the files: a replaced CRL is in force within this delay. */
#define GW_CRL_RECHECK_NS 1000000000LL

struct crl_file {
    char *path;
    struct stat seen;              /* the file as last read */
    STACK_OF(X509_CRL) *crls;
};

struct gw_crl_set {
    pthread_rwlock_t lock;         /* readers: lookups; writer: a refresh swapping a file's list */
    pthread_mutex_t refresh_lock;  /* one refresh at a time */
    atomic_llong next_check_ns;    /* CLOCK_MONOTONIC time of the next look at the files */
    size_t count;
    struct crl_file *files;
};

static int ex_index = -1;
static pthread_once_t ex_index_once = PTHREAD_ONCE_INIT;

static void make_ex_index(void)
{
    ex_index = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Every CRL of a PEM file; at least one, or an error naming the file. */
static gw_status read_crl_file(const char *path, struct stat *st_out, STACK_OF(X509_CRL) **out,
                               char *err, size_t errlen)
{
    gw_status st = GW_ERR_CONFIG;
    STACK_OF(X509_CRL) *crls = NULL;
    X509_CRL *crl;
    FILE *f = fopen(path, "re");
    if (!f) {
        gw_set_error(err, errlen, "%s: cannot open the CRL: %s", path, strerror(errno));
        return GW_ERR_CONFIG;
    }
    if (fstat(fileno(f), st_out) != 0) {
        gw_set_error(err, errlen, "%s: cannot stat the CRL: %s", path, strerror(errno));
        goto fail;
    }
    if (!(crls = sk_X509_CRL_new_null())) {
        st = GW_ERR_NOMEM;
        gw_set_error(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    while ((crl = PEM_read_X509_CRL(f, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_CRL_push(crls, crl)) {
            X509_CRL_free(crl);
            st = GW_ERR_NOMEM;
            gw_set_error(err, errlen, "%s: out of memory", path);
            goto fail;
        }
    }
    /* The read loop ends on "no start line" at end of file: expected once something was read. */
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    if (sk_X509_CRL_num(crls) == 0 ||
        (e && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)) {
        gw_set_error(err, errlen, "%s: cannot read the CRL (PEM X509 CRL expected)", path);
        goto fail;
    }
    fclose(f);
    *out = crls;
    return GW_OK;
fail:
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    fclose(f);
    return st;
}

gw_status gw_crl_set_open(const char *const *paths, size_t n, gw_crl_set **out, char *err,
                          size_t errlen)
{
    gw_status st = GW_ERR_NOMEM;
    *out = NULL;
    gw_crl_set *set = calloc(1, sizeof *set);
    if (!set || (n && !(set->files = calloc(n, sizeof *set->files)))) {
        free(set);
        gw_set_error(err, errlen, "CRLs: out of memory");
        return GW_ERR_NOMEM;
    }
    pthread_rwlock_init(&set->lock, NULL);
    pthread_mutex_init(&set->refresh_lock, NULL);
    atomic_init(&set->next_check_ns, gw_monotonic_ns() + GW_CRL_RECHECK_NS);
    for (size_t i = 0; i < n; i++) {
        struct crl_file *f = &set->files[set->count];
        if (!(f->path = strdup(paths[i]))) {
            gw_set_error(err, errlen, "CRLs: out of memory");
            goto fail;
        }
        set->count++;
        if ((st = read_crl_file(f->path, &f->seen, &f->crls, err, errlen)) != GW_OK)
            goto fail;
    }
    *out = set;
    return GW_OK;
fail:
    gw_crl_set_free(set);
    return st;
}

void gw_crl_set_free(gw_crl_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++) {
        free(set->files[i].path);
        sk_X509_CRL_pop_free(set->files[i].crls, X509_CRL_free);
    }
    free(set->files);
    pthread_rwlock_destroy(&set->lock);
    pthread_mutex_destroy(&set->refresh_lock);
    free(set);
}

int gw_crl_set_refresh(gw_crl_set *set, char *err, size_t errlen)
{
    int reread = 0, failed = 0;
    pthread_mutex_lock(&set->refresh_lock);
    for (size_t i = 0; i < set->count; i++) {
        struct crl_file *f = &set->files[i];
        struct stat now;
        if (stat(f->path, &now) != 0)
            memset(&now, 0, sizeof now); /* gone: a file put back later is read again */
        if (same_file(&now, &f->seen))
            continue;
        STACK_OF(X509_CRL) *fresh = NULL;
        struct stat seen;
        char why[512];
        if (read_crl_file(f->path, &seen, &fresh, why, sizeof why) != GW_OK) {
            /* Keep what is in force; say so once per change of the file, not on every look. */
            if (!failed)
                gw_set_error(err, errlen, "%s", why);
            failed = 1;
            gw_log(PIDE_LOG_ERROR, "CRL %s changed but cannot be used; the previous list stays "
                                   "in force: %s", f->path, why);
            f->seen = now;
            continue;
        }
        pthread_rwlock_wrlock(&set->lock);
        STACK_OF(X509_CRL) *old = f->crls;
        f->crls = fresh;
        f->seen = seen;
        pthread_rwlock_unlock(&set->lock);
        sk_X509_CRL_pop_free(old, X509_CRL_free);
        gw_log(PIDE_LOG_INFO, "CRL %s re-read: %d list(s)", f->path, sk_X509_CRL_num(fresh));
        reread++;
    }
    pthread_mutex_unlock(&set->refresh_lock);
    return failed ? -1 : reread;
}

size_t gw_crl_set_count(gw_crl_set *set)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&set->lock);
    for (size_t i = 0; i < set->count; i++)
        n += (size_t)sk_X509_CRL_num(set->files[i].crls);
    pthread_rwlock_unlock(&set->lock);
    return n;
}

/* OpenSSL's lookup_crls hook: the set's CRLs issued by `issuer`, in a stack the caller frees. */
static STACK_OF(X509_CRL) *lookup_crls(const X509_STORE_CTX *ctx, const X509_NAME *issuer)
{
    X509_STORE *store = X509_STORE_CTX_get0_store(ctx);
    gw_crl_set *set = store ? X509_STORE_get_ex_data(store, ex_index) : NULL;
    STACK_OF(X509_CRL) *out = sk_X509_CRL_new_null();
    if (!set || !out)
        return out;
    long long now = gw_monotonic_ns(), due = atomic_load(&set->next_check_ns);
    /* One lookup a second looks at the files (the one that moves the date on); the others use
     * the lists in force meanwhile. */
    if (now >= due &&
        atomic_compare_exchange_strong(&set->next_check_ns, &due, now + GW_CRL_RECHECK_NS)) {
        char err[512];
        gw_crl_set_refresh(set, err, sizeof err);
    }
    pthread_rwlock_rdlock(&set->lock);
    for (size_t i = 0; i < set->count; i++) {
        STACK_OF(X509_CRL) *crls = set->files[i].crls;
        for (int j = 0; j < sk_X509_CRL_num(crls); j++) {
            X509_CRL *crl = sk_X509_CRL_value(crls, j);
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) != 0)
                continue;
            if (X509_CRL_up_ref(crl) != 1)
                continue;
            if (!sk_X509_CRL_push(out, crl))
                X509_CRL_free(crl);
        }
    }
    pthread_rwlock_unlock(&set->lock);
    return out;
}

gw_status gw_crl_set_attach(gw_crl_set *set, X509_STORE *store)
{
    pthread_once(&ex_index_once, make_ex_index);
    if (ex_index < 0 || !X509_STORE_set_ex_data(store, ex_index, set))
        return GW_ERR_NOMEM;
    X509_STORE_set_lookup_crls(store, lookup_crls);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    return GW_OK;
}
