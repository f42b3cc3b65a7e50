/*
 * elf_exports.h — the symbols a shared object exports (defined, global or weak, default or
 * protected visibility, in .dynsym), read from the file itself: what other code loaded in the
 * same process could bind to, and what docs/adapter-abi.md asks adapters to keep to one.
 */
#ifndef PIDE_TOOLS_ELF_EXPORTS_H
#define PIDE_TOOLS_ELF_EXPORTS_H

#include <stddef.h>

#include "status.h"

/* Calls `each` for every exported symbol of the 64-bit ELF file at path. GW_ERR_IO when the
 * file cannot be read, GW_ERR_INVALID_ARG when it is not a 64-bit ELF shared object with a
 * .dynsym (err says which). */
gw_status elf_exports_list(const char *path, void (*each)(const char *name, void *ctx),
                           void *ctx, char *err, size_t errlen);

#endif
