/*
 * secret_file.h — secrets (the database password, private keys) come from files only the gateway
 * user can read, never from arguments or the configuration.
 */
#ifndef PIDE_GW_SECRET_FILE_H
#define PIDE_GW_SECRET_FILE_H

#include <stddef.h>

#include "status.h"

/* Reads a secret from `path`. Refuses a file that is not a regular file or whose mode gives any
 * access to group or others (mode & 077). Strips one trailing newline ("\n" or "\r\n"). *out is
 * malloc'd: wipe and free it with gw_secret_free(). Errors name the file and the reason, never
 * the contents. */
gw_status gw_read_secret_file(const char *path, char **out, char *err, size_t errlen);
void gw_secret_free(char *secret);

#endif
