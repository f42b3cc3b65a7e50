/*
 * secret_file.c — reading a secret (a password, a private key) from a file only the gateway user
 * can read, and wiping it after use.
 */
#include "secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define SECRET_FILE_MAX_BYTES 65536

static gw_status secret_error(char *err, size_t errlen, const char *path, const char *reason,
                              gw_status st)
{
    gw_set_error(err, errlen, "%s: %s", path, reason);
    return st;
}

gw_status gw_read_secret_file(const char *path, char **out, char *err, size_t errlen)
{
    if (!path || !out)
        return GW_ERR_INVALID_ARG;
    *out = NULL;
    char reason[160];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(reason, sizeof reason, "cannot open secret file: %s", strerror(errno));
        return secret_error(err, errlen, path, reason, GW_ERR_IO);
    }
    gw_status st;
    char *buf = NULL;
    size_t len = 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        snprintf(reason, sizeof reason, "cannot stat secret file: %s", strerror(errno));
        st = secret_error(err, errlen, path, reason, GW_ERR_IO);
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = secret_error(err, errlen, path, "secret file is not a regular file", GW_ERR_CONFIG);
        goto fail;
    }
    if (sb.st_mode & 077) {
        snprintf(reason, sizeof reason,
                 "secret file is accessible by group or others (mode %04o); chmod 600 it",
                 (unsigned)(sb.st_mode & 07777));
        st = secret_error(err, errlen, path, reason, GW_ERR_CONFIG);
        goto fail;
    }
    if (sb.st_size > SECRET_FILE_MAX_BYTES) {
        st = secret_error(err, errlen, path, "secret file is larger than 64 KiB", GW_ERR_CONFIG);
        goto fail;
    }
    buf = malloc(SECRET_FILE_MAX_BYTES + 1);
    if (!buf) {
        st = GW_ERR_NOMEM;
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, SECRET_FILE_MAX_BYTES + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(reason, sizeof reason, "cannot read secret file: %s", strerror(errno));
            st = secret_error(err, errlen, path, reason, GW_ERR_IO);
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > SECRET_FILE_MAX_BYTES) {
            st = secret_error(err, errlen, path, "secret file is larger than 64 KiB",
                              GW_ERR_CONFIG);
            goto fail;
        }
    }
    if (memchr(buf, '\0', len)) {
        st = secret_error(err, errlen, path, "secret file contains a NUL byte", GW_ERR_CONFIG);
        goto fail;
    }
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    if (len == 0) {
        st = secret_error(err, errlen, path, "secret file is empty", GW_ERR_CONFIG);
        goto fail;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    st = GW_OK;
fail:
    if (buf) {
        OPENSSL_cleanse(buf, SECRET_FILE_MAX_BYTES + 1);
        free(buf);
    }
    close(fd);
    return st;
}

void gw_secret_free(char *secret)
{
    if (!secret)
        return;
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}
