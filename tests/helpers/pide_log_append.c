/*
 * pide_log_append.c — test helper: appends exchange-log rows through the real writer
 * (gw_exchange_log_append), so that scripts get rows with genuine chain hashes without running the
 * whole gateway.
 *
 *   pide-log-append --conninfo CONNINFO [--password-file FILE] < records
 *
 * One record per input line: tab-separated key=value pairs, keys named as gw_log_record's
 * string fields (client_member, subject_id, caller_ip, client_cert_sha256, message_id...) plus
 * request, response (text bytes), http_status and t_request_in (Unix microseconds). Defaults: a
 * random exchange_id, outcome ok, http_status 200, t_request_in now. Prints the exchange_id of
 * each committed row.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exchange_log.h"

#define MAX_LINE (1 << 20)

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void random_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        fprintf(stderr, "pide-log-append: no randomness\n");
        exit(1);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

static char *read_password(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "pide-log-append: cannot read %s\n", path);
        exit(2);
    }
    static char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
    buf[n] = '\0';
    return buf;
}

/* The string fields a record line may set, by name. */
#define STRING_FIELDS(X)                                                                       \
    X(exchange_id) X(client_member) X(client_user) X(auth_method) X(client_address) X(service) \
    X(operation) X(adapter) X(subject_type) X(subject_id) X(purpose) X(procedure)              \
    X(caller_host) X(caller_ip) X(caller_user) X(caller_mac) X(signature_value) X(outcome)     \
    X(fault_code) X(fault_message) X(result_code) X(client_subsystem) X(client_cert_sha256)     \
    X(message_id) X(request_signature_value)

/* Fills r from one line (modified in place); returns 0, or -1 with a message. */
static int parse_record(char *line, int line_no, gw_log_record *r)
{
    for (char *save = NULL, *pair = strtok_r(line, "\t", &save); pair;
         pair = strtok_r(NULL, "\t", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq) {
            fprintf(stderr, "pide-log-append: line %d: '%s' is not key=value\n", line_no, pair);
            return -1;
        }
        *eq = '\0';
        const char *key = pair, *value = eq + 1;
#define MATCH_STRING(name)              \
    if (strcmp(key, #name) == 0) {      \
        r->name = value;                \
        continue;                       \
    }
        STRING_FIELDS(MATCH_STRING)
#undef MATCH_STRING
        if (strcmp(key, "request") == 0) {
            r->request = (const unsigned char *)value;
            r->request_len = strlen(value);
        } else if (strcmp(key, "response") == 0) {
            r->response = (const unsigned char *)value;
            r->response_len = strlen(value);
        } else if (strcmp(key, "http_status") == 0) {
            r->http_status = atoi(value);
        } else if (strcmp(key, "t_request_in") == 0) {
            r->t_request_in = strtoll(value, NULL, 10);
        } else {
            fprintf(stderr, "pide-log-append: line %d: unknown key '%s'\n", line_no, key);
            return -1;
        }
    }
    return 0;
}

static void sha256_of(const unsigned char *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    EVP_Digest(data ? data : (const unsigned char *)"", len, out, &n, EVP_sha256(), NULL);
}

int main(int argc, char **argv)
{
    const char *conninfo = NULL, *password = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conninfo") == 0 && i + 1 < argc) {
            conninfo = argv[++i];
        } else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
            password = read_password(argv[++i]);
        } else {
            fprintf(stderr, "usage: pide-log-append --conninfo CONNINFO [--password-file FILE] "
                            "< records\n");
            return 2;
        }
    }
    if (!conninfo) {
        fprintf(stderr, "pide-log-append: --conninfo is required\n");
        return 2;
    }

    exchange_log_options opt = {.conninfo = conninfo, .password = password};
    exchange_log *log = NULL;
    char err[512];
    if (gw_exchange_log_open(&opt, &log, err, sizeof err) != GW_OK) {
        fprintf(stderr, "pide-log-append: %s\n", err);
        return 1;
    }

    int rc = 0, line_no = 0;
    char *line = malloc(MAX_LINE);
    while (line && fgets(line, MAX_LINE, stdin)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        char uuid[37];
        random_uuid(uuid);
        gw_log_record r = {.exchange_id = uuid, .outcome = "ok", .http_status = 200};
        if (parse_record(line, line_no, &r) != 0) {
            rc = 1;
            break;
        }
        if (!r.t_request_in) r.t_request_in = now_us();
        r.t_response_out = now_us();
        sha256_of(r.request, r.request_len, r.request_sha256);
        sha256_of(r.response, r.response_len, r.response_sha256);
        gw_status st = gw_exchange_log_append(log, &r);
        if (st != GW_OK) {
            fprintf(stderr, "pide-log-append: line %d: append failed: %s\n", line_no,
                    gw_status_name(st));
            rc = 1;
            break;
        }
        printf("%s\n", r.exchange_id);
    }
    if (!line) {
        fprintf(stderr, "pide-log-append: out of memory\n");
        rc = 1;
    }
    free(line);
    gw_exchange_log_close(log);
    return rc;
}
