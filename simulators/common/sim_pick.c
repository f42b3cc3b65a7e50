/*
 * sim_pick.c — keys and reproducible picks of the simulators' synthetic registers (sim_pick.h).
 */
#include "sim_pick.h"

bool sim_is_digits(const char *s, size_t digits)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i]; i++)
        if (i >= digits || s[i] < '0' || s[i] > '9')
            return false;
    return i == digits;
}

uint64_t sim_pick_seed(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 0x100000001b3ull;
    return h;
}

uint64_t sim_pick_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
