/* peru_id.c — digit-string checks behind gw_is_ruc / gw_is_dni (see peru_id.h). */
#include "peru_id.h"

#include <string.h>

int gw_is_digits(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}
