/*
 * pide_rest_verify.c — pide-rest-verify (run as `pide-audit verify-rest`): checks the signature
 * of a REST answer of the gateway offline, from the response as `curl -i` saved it (status
 * line, header fields, empty line, body) and the gateway's signing certificate.
 *
 *   pide-rest-verify --cert gateway-sign.pem --response FILE [--trusted-pem CA.pem]
 *
 * What is checked (gateway/rest_sign.h): X-Pide-Signature is a detached JWS with b64=false whose
 * protected header names this certificate (x5t#S256), the response's X-Pide-Exchange-Id and its
 * HTTP status, and whose signature over BASE64URL(header) "." body verifies with the
 * certificate's key; with --trusted-pem, the certificate chains to that CA too. Exit status: 0
 * verified, 1 not verified (the reason on stderr), 2 bad arguments or unreadable files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "rest_sign.h"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* The value of header `name` in head[0..hl) (NUL-terminated copy in out), 1 when exactly once. */
static int header(const char *head, size_t hl, const char *name, char *out, size_t outlen)
{
    int found = 0;
    size_t nl = strlen(name);
    const char *p = head, *end = head + hl;
    while (p < end) {
        const char *le = memchr(p, '\n', (size_t)(end - p));
        size_t ll = le ? (size_t)(le - p) : (size_t)(end - p);
        size_t l2 = ll && p[ll - 1] == '\r' ? ll - 1 : ll;
        if (l2 > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            size_t vl = l2 - nl - 1;
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= outlen)
                return 0;
            memcpy(out, v, vl);
            out[vl] = '\0';
            found++;
        }
        p += ll + 1;
    }
    return found == 1;
}

int main(int argc, char **argv)
{
    const char *cert_path = NULL, *resp_path = NULL, *ca_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
            cert_path = argv[++i];
        else if (strcmp(argv[i], "--response") == 0 && i + 1 < argc)
            resp_path = argv[++i];
        else if (strcmp(argv[i], "--trusted-pem") == 0 && i + 1 < argc)
            ca_path = argv[++i];
        else {
            fprintf(stderr, "usage: pide-rest-verify --cert GATEWAY-SIGN.pem --response FILE "
                            "[--trusted-pem CA.pem]\n");
            return 2;
        }
    }
    if (!cert_path || !resp_path) {
        fprintf(stderr, "pide-rest-verify: --cert and --response are required\n");
        return 2;
    }
    FILE *cf = fopen(cert_path, "r");
    X509 *cert = cf ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
    if (cf)
        fclose(cf);
    if (!cert) {
        fprintf(stderr, "pide-rest-verify: cannot read a PEM certificate from %s\n", cert_path);
        return 2;
    }
    size_t len = 0;
    char *buf = read_all(resp_path, &len);
    if (!buf) {
        fprintf(stderr, "pide-rest-verify: cannot read %s\n", resp_path);
        X509_free(cert);
        return 2;
    }
    int rc = 1;
    /* The last header block (curl -i also shows a 100 Continue's). */
    char *head = buf, *body = NULL;
    for (;;) {
        char *sep = strstr(head, "\r\n\r\n");
        size_t sl = 4;
        if (!sep) {
            sep = strstr(head, "\n\n");
            sl = 2;
        }
        if (!sep) {
            fprintf(stderr, "not verified: no empty line after the header fields\n");
            goto done;
        }
        body = sep + sl;
        if (strncmp(body, "HTTP/", 5) == 0 && strncmp(head, "HTTP/1.1 1", 10) == 0) {
            head = body;
            continue;
        }
        break;
    }
    size_t hl = (size_t)(body - head);
    size_t body_len = len - (size_t)(body - buf);
    int status = 0;
    if (sscanf(head, "HTTP/%*s %d", &status) != 1) {
        fprintf(stderr, "not verified: no HTTP status line\n");
        goto done;
    }
    char exchange_id[128], jws[4096], err[512];
    if (!header(head, hl, "X-Pide-Exchange-Id", exchange_id, sizeof exchange_id)) {
        fprintf(stderr, "not verified: no single X-Pide-Exchange-Id header\n");
        goto done;
    }
    if (!header(head, hl, GW_REST_SIGNATURE_HEADER, jws, sizeof jws)) {
        fprintf(stderr, "not verified: no single " GW_REST_SIGNATURE_HEADER " header\n");
        goto done;
    }
    if (ca_path) {
        X509_STORE *store = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        int ok = store && ctx && X509_STORE_load_file(store, ca_path) == 1 &&
                 X509_STORE_CTX_init(ctx, store, cert, NULL) == 1 && X509_verify_cert(ctx) == 1;
        if (!ok)
            fprintf(stderr, "not verified: the certificate does not chain to %s (%s)\n", ca_path,
                    ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)) : "?");
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        if (!ok)
            goto done;
    }
    if (gw_rest_jws_verify(cert, jws, body, body_len, exchange_id, status, err, sizeof err) !=
        GW_OK) {
        fprintf(stderr, "not verified: %s\n", err);
        goto done;
    }
    printf("verified: status %d, exchange %s, %zu body bytes signed by %s\n", status, exchange_id,
           body_len, cert_path);
    rc = 0;
done:
    free(buf);
    X509_free(cert);
    return rc;
}
