/*
 * pide-wss-sign — signs a SOAP request the way a pide-gateway consumer must (WS-Security X.509
 * Token Profile: wsu:Timestamp, BinarySecurityToken, ds:Signature over the Body, the Timestamp
 * and every gateway header element), for integrators and tests. The signing code is the
 * gateway's own (gw_wss_sign in gateway/wss.c). See docs/wss.md.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include "status.h"
#include "wss.h"
#include "xml_sign.h"

static void usage(FILE *out)
{
    fputs("Usage: pide-wss-sign --key KEY.pem --cert CERT.pem [--ttl SECONDS]\n"
          "                     [--created-offset SECONDS] IN.xml|- > OUT.xml\n"
          "\n"
          "Adds a WS-Security header to the SOAP request IN.xml (- reads stdin) and writes the\n"
          "signed message to stdout:\n"
          "  wsu:Timestamp (Created = now + created-offset, Expires = Created + ttl),\n"
          "  the certificate as wsse:BinarySecurityToken, and a ds:Signature (exclusive C14N,\n"
          "  SHA-256, RSA-SHA256 or ECDSA-SHA256 by key type) over the Body, the Timestamp and\n"
          "  every urn:pide-gateway:header:1 header element.\n"
          "  --key             private key, PEM, unencrypted, mode 0600\n"
          "  --cert            the key's X.509 certificate, PEM\n"
          "  --ttl             seconds until wsu:Expires (default 300)\n"
          "  --created-offset  seconds added to the current time for wsu:Created (default 0;\n"
          "                    negative values make old messages, for tests)\n",
          out);
}

/* A whole decimal integer in [min, max], or exits with a message naming the option. */
static long parse_long(const char *option, const char *text, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "pide-wss-sign: %s: '%s' is not a whole number in [%ld, %ld]\n", option,
                text, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *key = NULL, *cert = NULL, *input = NULL;
    long ttl = 300, offset = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--key") == 0 && has_value) {
            key = argv[++i];
        } else if (strcmp(a, "--cert") == 0 && has_value) {
            cert = argv[++i];
        } else if (strcmp(a, "--ttl") == 0 && has_value) {
            ttl = parse_long(a, argv[++i], 1, 7 * 24 * 3600);
        } else if (strcmp(a, "--created-offset") == 0 && has_value) {
            offset = parse_long(a, argv[++i], -10L * 365 * 24 * 3600, 10L * 365 * 24 * 3600);
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "pide-wss-sign: unknown option or missing value: %s (see --help)\n",
                    a);
            return 2;
        } else if (input == NULL) {
            input = a;
        } else {
            fprintf(stderr, "pide-wss-sign: more than one input file (see --help)\n");
            return 2;
        }
    }
    if (key == NULL || cert == NULL || input == NULL) {
        fprintf(stderr, "pide-wss-sign: --key, --cert and an input file are required\n");
        usage(stderr);
        return 2;
    }

    int rc = 1;
    char err[512] = "";
    gw_signer *signer = NULL;
    gw_sign_ctx *ctx = NULL;
    xmlDocPtr doc = NULL;
    xmlChar *out = NULL;
    int out_len = 0;

    if (gw_xmlsec_global_init() != GW_OK) {
        fprintf(stderr, "pide-wss-sign: cannot initialise xmlsec\n");
        return 1;
    }
    gw_status st = gw_signer_open(key, cert, &signer, err, sizeof err);
    if (st != GW_OK) {
        fprintf(stderr, "pide-wss-sign: %s\n", err);
        goto done;
    }
    if (gw_sign_ctx_new(signer, &ctx) != GW_OK) {
        fprintf(stderr, "pide-wss-sign: out of memory\n");
        goto done;
    }
    /* No network, no DTD loading or entity substitution: the input is a message, not a
     * document with external parts. */
    doc = xmlReadFile(strcmp(input, "-") == 0 ? "/dev/stdin" : input, NULL,
                      XML_PARSE_NONET);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError();
        fprintf(stderr, "pide-wss-sign: %s:%d: not well-formed XML: %s", input, e ? e->line : 0,
                e && e->message ? e->message : "parse error\n");
        goto done;
    }
    st = gw_wss_sign(ctx, doc, time(NULL) + offset, (int)ttl, NULL, err, sizeof err);
    if (st != GW_OK) {
        fprintf(stderr, "pide-wss-sign: %s: %s\n", input, err);
        goto done;
    }
    /* Exactly as built, no re-indentation: the receiver canonicalizes these bytes. */
    xmlDocDumpMemoryEnc(doc, &out, &out_len, "UTF-8");
    if (out == NULL || fwrite(out, 1, (size_t)out_len, stdout) != (size_t)out_len ||
        fflush(stdout) != 0) {
        fprintf(stderr, "pide-wss-sign: cannot write the signed message: %s\n", strerror(errno));
        goto done;
    }
    rc = 0;

done:
    xmlFree(out);
    xmlFreeDoc(doc);
    gw_sign_ctx_free(ctx);
    gw_signer_close(signer);
    gw_xmlsec_global_shutdown();
    xmlCleanupParser();
    return rc;
}
