/*
 * key_store.c — the private signing key from a PEM file or from a PKCS#11 token (key_store.h).
 *
 * Debian 12 has OpenSSL 3.0 and no pkcs11-provider, so a token is reached through the
 * (deprecated) ENGINE API and libp11's pkcs11 engine. This file is the only one that uses the
 * ENGINE API: it allows the deprecated declarations here and nowhere else (-Werror).
 */
#define OPENSSL_API_COMPAT 10101
#define OPENSSL_SUPPRESS_DEPRECATED 1
/* memfd_create: _GNU_SOURCE comes from the build (CMAKE_C_FLAGS) */

#include "key_store.h"

#include "log.h"
#include "secret_file.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/ui.h>

int gw_key_is_pkcs11(const char *key) { return key != NULL && strncasecmp(key, "pkcs11:", 7) == 0; }

/* ---- the URI (RFC 7512) ------------------------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes value[0..len) into out (NUL-terminated). 0 when malformed, too long, or (not
 * binary) it decodes to a NUL or a control character. A binary value (id) is only checked: out
 * gets "". */
static int pct_decode(const char *value, size_t len, int binary, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)value[i];
        if (c == '%') {
            if (i + 2 >= len)
                return 0;
            int a = hexval((unsigned char)value[i + 1]), b = hexval((unsigned char)value[i + 2]);
            if (a < 0 || b < 0)
                return 0;
            c = a * 16 + b;
            i += 2;
        }
        if (binary)
            continue;
        if (c == 0 || c < 0x20 || c == 0x7f || o + 1 >= outlen)
            return 0;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 1;
}

/* The path attributes libp11 understands and we pass on; type must be "private". */
static const char *const path_attrs[] = {"token",  "manufacturer", "serial", "model",
                                         "object", "id",           "type"};
#define N_PATH_ATTRS (sizeof path_attrs / sizeof path_attrs[0])

gw_status gw_pkcs11_uri_parse(const char *uri, gw_pkcs11_uri *out, char *err, size_t errlen)
{
    int seen[N_PATH_ATTRS] = {0};
    int seen_pin_source = 0, seen_module = 0;
    char value[GW_PKCS11_URI_MAX + 1];
    if (uri == NULL || out == NULL) {
        gw_set_error(err, errlen, "PKCS#11 URI: none given");
        return GW_ERR_INVALID_ARG;
    }
    memset(out, 0, sizeof *out);
    size_t n = strlen(uri);
    if (!gw_key_is_pkcs11(uri)) {
        gw_set_error(err, errlen, "PKCS#11 URI: does not start with 'pkcs11:'");
        return GW_ERR_CONFIG;
    }
    if (n > GW_PKCS11_URI_MAX) {
        gw_set_error(err, errlen, "PKCS#11 URI: longer than %d characters", GW_PKCS11_URI_MAX);
        return GW_ERR_CONFIG;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)uri[i] < 0x21 || (unsigned char)uri[i] == 0x7f) {
            gw_set_error(err, errlen,
                         "PKCS#11 URI: a space or control character at offset %zu "
                         "(spaces are written %%20)",
                         i);
            return GW_ERR_CONFIG;
        }
    strcpy(out->engine_uri, "pkcs11:");
    size_t eu = 7;
    const char *p = uri + 7;
    int in_query = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, in_query ? "&" : ";?");
        char sep = p[len];
        const char *eq = memchr(p, '=', len);
        if (len == 0) {
            if (sep == '?' && !in_query) { /* "pkcs11:?..." or "...;?..." */
                in_query = 1;
                p += 1;
                continue;
            }
            gw_set_error(err, errlen, "PKCS#11 URI: an empty attribute (doubled '%c')",
                         sep ? sep : ';');
            return GW_ERR_CONFIG;
        }
        if (eq == NULL) {
            gw_set_error(err, errlen, "PKCS#11 URI: attribute '%.*s' has no '='",
                         (int)(len > 40 ? 40 : len), p);
            return GW_ERR_CONFIG;
        }
        size_t nl = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vl = len - nl - 1;
        char name[32];
        if (nl == 0 || nl >= sizeof name) {
            gw_set_error(err, errlen, "PKCS#11 URI: an attribute with no or too long a name");
            return GW_ERR_CONFIG;
        }
        memcpy(name, p, nl);
        name[nl] = '\0';
        if (strcmp(name, "pin-value") == 0) {
            gw_set_error(err, errlen,
                         "PKCS#11 URI: pin-value is refused (a PIN in clear in the "
                         "configuration); put the PIN in a mode 0600 file named by "
                         "pinFile= or pin-source=file:PATH");
            return GW_ERR_CONFIG;
        }
        if (!pct_decode(v, vl, strcmp(name, "id") == 0, value, sizeof value)) {
            gw_set_error(err, errlen,
                         "PKCS#11 URI: attribute '%s' is not well percent-encoded "
                         "(or decodes to a control character)",
                         name);
            return GW_ERR_CONFIG;
        }
        if (strcmp(name, "pin-source") == 0 || strcmp(name, "module-path") == 0) {
            int *seenp = name[0] == 'p' ? &seen_pin_source : &seen_module;
            char *dst = name[0] == 'p' ? out->pin_source : out->module_path;
            if ((*seenp)++) {
                gw_set_error(err, errlen, "PKCS#11 URI: attribute '%s' given twice", name);
                return GW_ERR_CONFIG;
            }
            const char *path = value;
            if (name[0] == 'p' && strncmp(path, "file:", 5) == 0)
                path += 5;
            if (name[0] == 'p' && strncmp(path, "//", 2) == 0) /* file:///abs */
                path += 2;
            if (path[0] != '/') {
                gw_set_error(err, errlen, "PKCS#11 URI: %s must be an absolute file path%s", name,
                             name[0] == 'p' ? " (file:/PATH)" : "");
                return GW_ERR_CONFIG;
            }
            strcpy(dst, path);
        } else if (in_query) {
            gw_set_error(err, errlen,
                         "PKCS#11 URI: query attribute '%s' is not supported "
                         "(pin-source, module-path)",
                         name);
            return GW_ERR_CONFIG;
        } else {
            size_t k = 0;
            while (k < N_PATH_ATTRS && strcmp(name, path_attrs[k]) != 0)
                k++;
            if (k == N_PATH_ATTRS) {
                gw_set_error(err, errlen,
                             "PKCS#11 URI: attribute '%s' is not supported (token, "
                             "manufacturer, serial, model, object, id, type; "
                             "pin-source, module-path)",
                             name);
                return GW_ERR_CONFIG;
            }
            if (seen[k]++) {
                gw_set_error(err, errlen, "PKCS#11 URI: attribute '%s' given twice", name);
                return GW_ERR_CONFIG;
            }
            if (strcmp(name, "type") == 0 && strcmp(value, "private") != 0) {
                gw_set_error(err, errlen, "PKCS#11 URI: type must be 'private' (the signing key)");
                return GW_ERR_CONFIG;
            }
            if (vl == 0) {
                gw_set_error(err, errlen, "PKCS#11 URI: attribute '%s' is empty", name);
                return GW_ERR_CONFIG;
            }
            if (strcmp(name, "token") == 0)
                strcpy(out->token, value);
            /* Passed on as written (still percent-encoded): libp11 decodes it. */
            eu += (size_t)snprintf(out->engine_uri + eu, sizeof out->engine_uri - eu, "%s%.*s",
                                   eu > 7 ? ";" : "", (int)len, p);
        }
        p += len;
        if (sep == '?') {
            if (in_query) {
                gw_set_error(err, errlen, "PKCS#11 URI: a second '?'");
                return GW_ERR_CONFIG;
            }
            in_query = 1;
            p++;
        } else if (sep != '\0') {
            p++;
            if (*p == '\0') {
                gw_set_error(err, errlen, "PKCS#11 URI: ends with '%c'", sep);
                return GW_ERR_CONFIG;
            }
        }
    }
    if (!seen[4] && !seen[5]) { /* object, id */
        gw_set_error(err, errlen,
                     "PKCS#11 URI: names no key: object= (the label) or id= is "
                     "required");
        return GW_ERR_CONFIG;
    }
    if (!seen[6]) /* the signing key is the private one, whatever else the token holds */
        snprintf(out->engine_uri + eu, sizeof out->engine_uri - eu, ";type=private");
    return GW_OK;
}

/* ---- the engine -------------------------------------------------------------------------- */

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static ENGINE *engine;           /* initialised (functional reference), or NULL */
static char engine_module[4096]; /* the module it was initialised with */

/* The first error of the PKCS#11 module library (libp11 reports CKR_* there, e.g. "PIN
 * incorrect"), or of anything, for the message; clears the queue. */
static void take_openssl_reason(char *pkcs11_reason, size_t plen, char *any_reason, size_t alen)
{
    unsigned long e;
    pkcs11_reason[0] = any_reason[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        const char *lib = ERR_lib_error_string(e);
        const char *reason = ERR_reason_error_string(e);
        if (reason == NULL)
            continue;
        if (pkcs11_reason[0] == '\0' && lib != NULL && strstr(lib, "PKCS#11") != NULL)
            snprintf(pkcs11_reason, plen, "%s", reason);
        if (any_reason[0] == '\0')
            snprintf(any_reason, alen, "%s", reason);
    }
}

/* libp11 tells some causes (which token is missing) only on stderr. While the engine works,
 * stderr goes to a memory file, read afterwards for the cause and logged at DEBUG. Start-up
 * only, under engine_lock. */
typedef struct stderr_capture {
    int saved, mem;
} stderr_capture;

static void capture_begin(stderr_capture *c)
{
    fflush(stderr);
    c->mem = memfd_create("pide-pkcs11-stderr", MFD_CLOEXEC);
    c->saved = c->mem >= 0 ? dup(STDERR_FILENO) : -1;
    if (c->saved < 0 || dup2(c->mem, STDERR_FILENO) < 0) {
        if (c->saved >= 0)
            close(c->saved);
        if (c->mem >= 0)
            close(c->mem);
        c->saved = c->mem = -1;
    }
}

static void capture_end(stderr_capture *c, char *text, size_t textlen)
{
    text[0] = '\0';
    if (c->mem < 0)
        return;
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    ssize_t got = pread(c->mem, text, textlen - 1, 0);
    text[got > 0 ? got : 0] = '\0';
    close(c->mem);
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line)
            gw_log(PIDE_LOG_DEBUG, "pkcs11 engine: %s", line);
        if (!nl)
            break;
        *nl = '\n';
        line = nl + 1;
    }
}

static gw_status engine_get(const char *module, ENGINE **out, char *err, size_t errlen)
{
    char p11[160], any[160];
    struct stat sb;
    if (engine != NULL) {
        if (strcmp(engine_module, module) != 0) {
            gw_set_error(err, errlen,
                         "PKCS#11 module %s: this process already uses module %s "
                         "(one module per gateway)",
                         module, engine_module);
            return GW_ERR_CONFIG;
        }
        *out = engine;
        return GW_OK;
    }
    if (strlen(module) >= sizeof engine_module) {
        gw_set_error(err, errlen, "PKCS#11 module path is too long");
        return GW_ERR_CONFIG;
    }
    int found = stat(module, &sb) == 0;
    if (!found || !S_ISREG(sb.st_mode)) {
        gw_set_error(err, errlen,
                     "PKCS#11 module %s: %s (Debian: softhsm2 for SoftHSM2, or "
                     "the HSM vendor's module)",
                     module, found ? "not a regular file" : strerror(errno));
        return GW_ERR_CONFIG;
    }
    ENGINE_load_builtin_engines();
    ENGINE *e = ENGINE_by_id("pkcs11"); /* loads engines-3/pkcs11.so when not yet loaded */
    if (e == NULL) {
        ERR_clear_error();
        gw_set_error(err, errlen,
                     "PKCS#11: the OpenSSL pkcs11 engine is not installed (Debian "
                     "package libengine-pkcs11-openssl)");
        return GW_ERR_CONFIG;
    }
    if (!ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) || !ENGINE_init(e)) {
        take_openssl_reason(p11, sizeof p11, any, sizeof any);
        gw_set_error(err, errlen, "PKCS#11 module %s: cannot initialise it (%s)", module,
                     p11[0]   ? p11
                     : any[0] ? any
                              : "no detail");
        ENGINE_free(e);
        return GW_ERR_CONFIG;
    }
    ENGINE_free(e); /* the functional reference from ENGINE_init keeps it */
    engine = e;
    snprintf(engine_module, sizeof engine_module, "%s", module);
    *out = e;
    return GW_OK;
}

void gw_key_store_shutdown(void)
{
    pthread_mutex_lock(&engine_lock);
    if (engine != NULL)
        ENGINE_finish(engine);
    engine = NULL;
    engine_module[0] = '\0';
    pthread_mutex_unlock(&engine_lock);
}

/* xmlsec 1.2.37 on OpenSSL 3 calls a key private only when it can read the private component
 * (RSA d, the EC private scalar), and signs only with a private key. A token's key has no such
 * component here (it never leaves the token), so xmlsec would refuse it ("key is not found").
 * Every private-key operation on it goes through libp11's RSA/EC method, which never reads
 * that component (OpenSSL keeps such "foreign" keys on the legacy path, never exporting them to
 * a provider): a placeholder of 1 lets xmlsec see a private key. gw_signer_open_source checks
 * at start-up that a signature made this way verifies with the certificate. */
static gw_status mark_token_key_private(EVP_PKEY *pkey, char *err, size_t errlen)
{
    int ok = 0;
    BIGNUM *one = BN_new();
    if (one == NULL || !BN_one(one))
        goto done;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        RSA *rsa = EVP_PKEY_get1_RSA(pkey);
        const BIGNUM *d = NULL;
        if (rsa != NULL) {
            RSA_get0_key(rsa, NULL, NULL, &d);
            ok = d != NULL || RSA_set0_key(rsa, NULL, NULL, one) == 1;
            if (ok && d == NULL)
                one = NULL; /* owned by rsa */
            RSA_free(rsa);
        }
    } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        EC_KEY *ec = EVP_PKEY_get1_EC_KEY(pkey);
        if (ec != NULL) {
            ok = EC_KEY_get0_private_key(ec) != NULL || EC_KEY_set_private_key(ec, one) == 1;
            EC_KEY_free(ec);
        }
    } else {
        ok = 1; /* refused by the caller with its type */
    }
done:
    BN_free(one);
    ERR_clear_error();
    if (!ok)
        gw_set_error(err, errlen, "PKCS#11 key: cannot prepare the token key for xmlsec");
    return ok ? GW_OK : GW_ERR_INTERNAL;
}

static gw_status load_pkcs11(const gw_key_source *src, EVP_PKEY **out, char *err, size_t errlen)
{
    gw_status st;
    gw_pkcs11_uri *u = calloc(1, sizeof *u);
    char *pin = NULL;
    char p11[160], any[160], said[2048], why[512];
    if (u == NULL) {
        gw_set_error(err, errlen, "PKCS#11: out of memory");
        return GW_ERR_NOMEM;
    }
    if ((st = gw_pkcs11_uri_parse(src->key, u, err, errlen)) != GW_OK)
        goto fail;
    const char *pin_path = src->pin_file ? src->pin_file : u->pin_source[0] ? u->pin_source : NULL;
    if (src->pin_file && u->pin_source[0] && strcmp(src->pin_file, u->pin_source) != 0) {
        st = GW_ERR_CONFIG;
        gw_set_error(err, errlen,
                     "PKCS#11 key %s: both pinFile and pin-source name a PIN file; "
                     "give one",
                     u->engine_uri);
        goto fail;
    }
    if (pin_path == NULL) {
        st = GW_ERR_CONFIG;
        gw_set_error(err, errlen,
                     "PKCS#11 key %s: no PIN file (pinFile= attribute or the URI's "
                     "pin-source=file:PATH)",
                     u->engine_uri);
        goto fail;
    }
    if ((st = gw_read_secret_file(pin_path, &pin, why, sizeof why)) != GW_OK) {
        if (st != GW_ERR_NOMEM)
            st = GW_ERR_CONFIG;
        gw_set_error(err, errlen, "PKCS#11 PIN file %s", why);
        goto fail;
    }
    if (pin[0] == '\0') {
        st = GW_ERR_CONFIG;
        gw_set_error(err, errlen, "PKCS#11 PIN file %s: is empty", pin_path);
        goto fail;
    }
    const char *module = src->module         ? src->module
                         : u->module_path[0] ? u->module_path
                                             : GW_PKCS11_DEFAULT_MODULE;

    pthread_mutex_lock(&engine_lock);
    ENGINE *e = NULL;
    st = engine_get(module, &e, err, errlen);
    if (st == GW_OK) {
        stderr_capture cap;
        ERR_clear_error();
        capture_begin(&cap);
        /* The PIN goes to the engine, never through a prompt: UI_null answers nothing. */
        if (ENGINE_ctrl_cmd_string(e, "PIN", pin, 0))
            *out = ENGINE_load_private_key(e, u->engine_uri, (UI_METHOD *)UI_null(), NULL);
        capture_end(&cap, said, sizeof said);
        take_openssl_reason(p11, sizeof p11, any, sizeof any);
    }
    pthread_mutex_unlock(&engine_lock);
    if (st != GW_OK)
        goto fail;
    if (*out == NULL) {
        st = GW_ERR_CONFIG;
        if (p11[0] != '\0' && strstr(p11, "PIN") != NULL)
            gw_set_error(err, errlen,
                         "PKCS#11 key %s: login to the token refused: %s (PIN file "
                         "%s)",
                         u->engine_uri, p11, pin_path);
        else if (strstr(said, "No matching initialized token") != NULL ||
                 strstr(said, "No tokens found") != NULL)
            gw_set_error(err, errlen, "PKCS#11 key %s: no initialised token %s%s%sin module %s",
                         u->engine_uri, u->token[0] ? "labelled '" : "matching the URI ", u->token,
                         u->token[0] ? "' " : "", module);
        else if (p11[0] != '\0')
            gw_set_error(err, errlen, "PKCS#11 key %s: %s (module %s)", u->engine_uri, p11, module);
        else if (strstr(any, "object not found") != NULL || strstr(said, "not found") != NULL)
            gw_set_error(err, errlen,
                         "PKCS#11 key %s: the token has no private key object "
                         "matching the URI's object=/id= (module %s)",
                         u->engine_uri, module);
        else
            gw_set_error(err, errlen, "PKCS#11 key %s: cannot load it (%s; module %s)",
                         u->engine_uri, any[0] ? any : "no detail", module);
        goto fail;
    }
    st = mark_token_key_private(*out, err, errlen);
    if (st != GW_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
fail:
    if (pin != NULL)
        gw_secret_free(pin);
    free(u);
    return st;
}

static gw_status load_pem(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
    char *pem = NULL;
    /* A regular file, readable by the gateway's user only (secret_file.h). */
    gw_status st = gw_read_secret_file(path, &pem, err, errlen);
    if (st != GW_OK)
        return st == GW_ERR_NOMEM ? st : GW_ERR_CONFIG;
    BIO *b = BIO_new_mem_buf(pem, -1);
    *out = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"") : NULL;
    BIO_free(b);
    gw_secret_free(pem);
    ERR_clear_error();
    if (*out == NULL) {
        gw_set_error(err, errlen, "signing key %s: not a usable unencrypted PEM private key", path);
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}

gw_status gw_private_key_load(const gw_key_source *src, EVP_PKEY **out, char *err, size_t errlen)
{
    if (src == NULL || src->key == NULL || out == NULL) {
        gw_set_error(err, errlen, "signing key: none given");
        return GW_ERR_INVALID_ARG;
    }
    *out = NULL;
    gw_status st = gw_key_is_pkcs11(src->key) ? load_pkcs11(src, out, err, errlen)
                                              : load_pem(src->key, out, err, errlen);
    if (st != GW_OK)
        return st;
    int type = EVP_PKEY_get_base_id(*out);
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
        gw_set_error(err, errlen,
                     "signing key %s: key type %s is not supported (use RSA or EC "
                     "P-256)",
                     gw_key_is_pkcs11(src->key) ? "(PKCS#11)" : src->key,
                     OBJ_nid2sn(type) ? OBJ_nid2sn(type) : "unknown");
        EVP_PKEY_free(*out);
        *out = NULL;
        return GW_ERR_CONFIG;
    }
    return GW_OK;
}
