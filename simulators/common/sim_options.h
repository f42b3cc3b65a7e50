/*
 * sim_options.h — the command-line options every provider simulator shares:
 *   --listen ADDR  --port N  --port-file F  --latency-ms N  --error-rate P  --seed N
 *   --max-body BYTES  --verbose  --help
 * Each bad value is reported as "<prog>: --option: 'value' reason" on stderr.
 */
#ifndef PIDE_SIM_OPTIONS_H
#define PIDE_SIM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_options {
    const char *listen_addr;   /* IPv4 literal; default 127.0.0.1 */
    uint16_t port;             /* 0: the kernel picks a free port */
    const char *port_file;     /* where to write the bound port once listening; NULL: nowhere */
    unsigned latency_ms;       /* artificial delay before each answer */
    double error_rate;         /* 0..1: fraction of requests answered with an injected failure */
    uint64_t seed;             /* makes the injected failures reproducible */
    size_t max_body;           /* larger request bodies get 413 */
    bool verbose;              /* one line per request on stderr */
} sim_options;

typedef enum sim_options_outcome {
    SIM_OPTIONS_RUN,           /* options parsed: start the simulator */
    SIM_OPTIONS_EXIT_OK,       /* --help was printed: exit 0 */
    SIM_OPTIONS_EXIT_USAGE     /* an error was printed: exit 2 */
} sim_options_outcome;

void sim_options_defaults(sim_options *o);

/* `description` is printed by --help after the usage line (what the simulator serves). */
sim_options_outcome sim_options_parse(sim_options *o, int argc, char **argv, const char *prog,
                                      const char *description);

#endif
