/*
 * sim_options.c — parsing of the options shared by all provider simulators.
 */
#include "sim_options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { OPT_LISTEN = 1000, OPT_PORT, OPT_PORT_FILE, OPT_LATENCY, OPT_ERROR_RATE, OPT_SEED,
       OPT_MAX_BODY, OPT_VERBOSE, OPT_HELP };

void sim_options_defaults(sim_options *o)
{
    o->listen_addr = "127.0.0.1";
    o->port = 0;
    o->port_file = NULL;
    o->latency_ms = 0;
    o->error_rate = 0.0;
    o->seed = 1;
    o->max_body = 1024 * 1024;
    o->verbose = false;
}

static void print_usage(FILE *out, const char *prog, const char *description)
{
    fprintf(out,
            "Usage: %s [options]\n%s\n\n"
            "Options:\n"
            "  --listen ADDR      IPv4 address to listen on (default 127.0.0.1)\n"
            "  --port N           TCP port; 0 picks a free one (default 0)\n"
            "  --port-file F      write the bound port to F once listening\n"
            "  --latency-ms N     wait N ms before answering each request (default 0)\n"
            "  --error-rate P     answer a fraction P (0..1) of requests with an injected\n"
            "                     server failure (default 0)\n"
            "  --seed N           seed of the failure injection; same seed, same sequence\n"
            "                     of failing request numbers (default 1)\n"
            "  --max-body BYTES   largest accepted request body (default 1048576)\n"
            "  --verbose          log one line per request to stderr (with the traceparent\n"
            "                     header received, if any)\n"
            "  --help             show this help\n"
            "SIGTERM or SIGINT stops the simulator cleanly.\n",
            prog, description ? description : "");
}

static bool parse_unsigned(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

sim_options_outcome sim_options_parse(sim_options *o, int argc, char **argv, const char *prog,
                                      const char *description)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"port", required_argument, NULL, OPT_PORT},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"latency-ms", required_argument, NULL, OPT_LATENCY},
        {"error-rate", required_argument, NULL, OPT_ERROR_RATE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"verbose", no_argument, NULL, OPT_VERBOSE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    sim_options_defaults(o);
    opterr = 0;
    optind = 1;
    int c;
    unsigned long long v;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            o->listen_addr = optarg;
            break;
        case OPT_PORT:
            if (!parse_unsigned(optarg, 65535, &v)) {
                fprintf(stderr, "%s: --port: '%s' is not a port number (0-65535)\n", prog, optarg);
                return SIM_OPTIONS_EXIT_USAGE;
            }
            o->port = (uint16_t)v;
            break;
        case OPT_PORT_FILE:
            o->port_file = optarg;
            break;
        case OPT_LATENCY:
            if (!parse_unsigned(optarg, 600000, &v)) {
                fprintf(stderr, "%s: --latency-ms: '%s' is not a number of milliseconds "
                        "(0-600000)\n", prog, optarg);
                return SIM_OPTIONS_EXIT_USAGE;
            }
            o->latency_ms = (unsigned)v;
            break;
        case OPT_ERROR_RATE: {
            char *end;
            errno = 0;
            double p = strtod(optarg, &end);
            if (errno || end == optarg || *end != '\0' || !isfinite(p) || p < 0.0 || p > 1.0) {
                fprintf(stderr, "%s: --error-rate: '%s' is not a fraction between 0 and 1\n",
                        prog, optarg);
                return SIM_OPTIONS_EXIT_USAGE;
            }
            o->error_rate = p;
            break;
        }
        case OPT_SEED:
            if (!parse_unsigned(optarg, UINT64_MAX, &v)) {
                fprintf(stderr, "%s: --seed: '%s' is not an unsigned integer\n", prog, optarg);
                return SIM_OPTIONS_EXIT_USAGE;
            }
            o->seed = v;
            break;
        case OPT_MAX_BODY:
            if (!parse_unsigned(optarg, 256ull * 1024 * 1024, &v) || v == 0) {
                fprintf(stderr, "%s: --max-body: '%s' is not a size in bytes (1-268435456)\n",
                        prog, optarg);
                return SIM_OPTIONS_EXIT_USAGE;
            }
            o->max_body = (size_t)v;
            break;
        case OPT_VERBOSE:
            o->verbose = true;
            break;
        case OPT_HELP:
            print_usage(stdout, prog, description);
            return SIM_OPTIONS_EXIT_OK;
        case ':':
            fprintf(stderr, "%s: %s needs a value\n", prog, argv[optind - 1]);
            return SIM_OPTIONS_EXIT_USAGE;
        default:
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, argv[optind - 1]);
            return SIM_OPTIONS_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
        return SIM_OPTIONS_EXIT_USAGE;
    }
    return SIM_OPTIONS_RUN;
}
