/*
 * crl.h — the certificate revocation lists every certificate check of the gateway consults.
 *
 * One set holds the CRL files the configuration names (<tls crl>, <wsSecurity crl>). It is
 * attached to each X509_STORE that judges a member's certificate: the mutual-TLS handshake and
 * the WS-Security signer check, so a revoked member is refused on both paths by the same lists.
 * OpenSSL asks the set for the CRLs of an issuer through the store's lookup_crls hook; at most
 * once a second that lookup also notices a file that was replaced (inode, size or mtime) and
 * re-reads it, so publishing a new CRL needs no restart. A file that no longer parses keeps the
 * previous list in force and is reported on the operational log; an expired list makes every
 * check against it fail (OpenSSL's nextUpdate rule): revocation checking fails closed.
 */
#ifndef PIDE_GW_CRL_H
#define PIDE_GW_CRL_H

#include <stddef.h>

#include <openssl/x509_vfy.h>

#include "status.h"

typedef struct gw_crl_set gw_crl_set;

/* Reads every CRL (PEM; a file may hold several) of the n files. Error names the file. */
gw_status gw_crl_set_open(const char *const *paths, size_t n, gw_crl_set **out, char *err,
                          size_t errlen);
void gw_crl_set_free(gw_crl_set *set);

/* Makes every verification with `store` check the leaf certificate against the set's CRLs.
 * The set must outlive the store's use. */
gw_status gw_crl_set_attach(gw_crl_set *set, X509_STORE *store);

/* Re-reads the files that changed on disk, whatever the time since the last look. Returns the
 * number of files re-read (0: none changed), or -1 when one changed but cannot be used (the
 * previous CRLs stay in force; err says why). */
int gw_crl_set_refresh(gw_crl_set *set, char *err, size_t errlen);

/* How many CRLs the set holds now (for tests and logs). */
size_t gw_crl_set_count(gw_crl_set *set);

#endif
