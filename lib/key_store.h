/*
 * key_store.h — where the gateway's private signing key lives (docs/signing.md, "Key custody"):
 * a PEM file only the gateway's user can read, or a key object in a PKCS#11 token (an HSM;
 * SoftHSM2 in the tests), named by an RFC 7512 URI and reached through OpenSSL's pkcs11 ENGINE
 * (libp11, Debian's libengine-pkcs11-openssl). Both give an EVP_PKEY that xmlsec (xml_sign.c)
 * and CMS (gateway/checkpoint.c) sign with; a token key never leaves the token.
 *
 * The PIN comes from a file (mode 0600, secret_file.h): the pinFile attribute or the URI's
 * pin-source. A PIN in clear (pin-value) is refused. The PIN is never logged nor put in a message.
 */
#ifndef PIDE_GW_KEY_STORE_H
#define PIDE_GW_KEY_STORE_H

#include <stddef.h>

#include <openssl/evp.h>

#include "status.h"

/* Debian's SoftHSM2 module, used when neither module= nor the URI's module-path names one. */
#define GW_PKCS11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define GW_PKCS11_URI_MAX 1024

typedef struct gw_key_source {
    const char *key;      /* a PEM file path, or a "pkcs11:" URI */
    const char *pin_file; /* PKCS#11 only: a file holding the user PIN (mode 0600); NULL: the
                             URI's pin-source */
    const char *module;   /* PKCS#11 only: the module; NULL: the URI's module-path, else
                             GW_PKCS11_DEFAULT_MODULE */
} gw_key_source;

/* 1 when key names a PKCS#11 object ("pkcs11:" prefix, case-insensitive as RFC 7512 says). */
int gw_key_is_pkcs11(const char *key);

/* What a checked pkcs11: URI says, as the gateway uses it. */
typedef struct gw_pkcs11_uri {
    /* the path attributes and type=private: what the engine gets */
    char engine_uri[GW_PKCS11_URI_MAX + 32];
    char pin_source[GW_PKCS11_URI_MAX + 1];  /* a file path from pin-source, or "" */
    char module_path[GW_PKCS11_URI_MAX + 1]; /* from module-path, or "" */
    char token[GW_PKCS11_URI_MAX + 1];       /* the decoded token label, or "" (for messages) */
} gw_pkcs11_uri;

/* Parses and checks a pkcs11: URI: path attributes token, manufacturer, serial, model, object,
 * id, type (only "private"), each at most once and well percent-encoded; query (or path)
 * attributes pin-source (file:PATH or an absolute path) and module-path. object= or id= is
 * required. pin-value, unknown attributes and control characters are refused, with the reason
 * (never an attribute's value) in err. */
gw_status gw_pkcs11_uri_parse(const char *uri, gw_pkcs11_uri *out, char *err, size_t errlen);

/* Loads the private key src names. A file: gw_read_secret_file + PEM. A PKCS#11 URI: the
 * pkcs11 engine (loaded once per process, for one module), the PIN from the PIN file, then the
 * key object; errors name the cause (engine not installed, module missing, no such token, no
 * such object, PIN incorrect, PIN locked) in one line. Free *out with EVP_PKEY_free (or hand
 * it to xmlsec, which frees it). */
gw_status gw_private_key_load(const gw_key_source *src, EVP_PKEY **out, char *err, size_t errlen);

/* Releases the engine (after every key loaded from it was freed). Idempotent. */
void gw_key_store_shutdown(void);

#endif
