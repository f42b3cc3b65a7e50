/*
 * adapter_samples.h — the samples file of pide-adapter-check: loaded, validated against the
 * embedded schemas/adapter-samples.xsd, and turned into the service configuration and the
 * sample exchanges the runner drives an adapter with.
 */
#ifndef PIDE_TOOLS_ADAPTER_SAMPLES_H
#define PIDE_TOOLS_ADAPTER_SAMPLES_H

#include <stddef.h>

#include <libxml/tree.h>

#include "arena.h"
#include "config.h"
#include "status.h"

typedef struct sample_expect_value {
    const char *path;        /* "return/datosPersona/prenombres" */
    const char *equals;
} sample_expect_value;

typedef struct adapter_sample {
    const char *name;
    int line;                /* in the samples file, for messages */
    xmlNodePtr operation;    /* the request's operation element */
    const char *endpoint;    /* NULL: the service's */
    unsigned timeout_ms;     /* 0: the service's */
    gw_param *params;        /* the service's params with this sample's applied on top */
    size_t param_count;
    int own_configuration;   /* endpoint, timeout or params differ: needs its own init() */
    const char *expect_result;
    const char *expect_subject;
    const char *expect_subject_type;
    const char *expect_error;    /* a pide_result name */
    const char *expect_fault;    /* a Fault code */
    sample_expect_value *values;
    size_t value_count;
} adapter_sample;

typedef struct adapter_samples {
    const char *path;
    const char *service;
    const char *endpoint;
    unsigned timeout_ms;
    const char *schema_path; /* absolute or relative to the current directory; NULL: none */
    gw_param *params;
    size_t param_count;
    adapter_sample *samples;
    size_t sample_count;

    /* what the strings and nodes above live in */
    xmlDocPtr doc;
    xmlDocPtr *request_docs;
    size_t request_doc_count;
    gw_arena memory;
} adapter_samples;

/* Loads and validates `path`. On failure err says "<file>:<line>: <reason>". */
gw_status adapter_samples_load(const char *path, adapter_samples *out, char *err,
                               size_t errlen);
void adapter_samples_free(adapter_samples *s);

/* The text of the element at `path` (local names separated by '/') below `node`, in a buffer
 * from xmlMalloc (free with xmlFree); NULL when there is no such element. */
char *adapter_samples_value_at(xmlNodePtr node, const char *path);

#endif
