#include "wire.h"

#include <stdlib.h>
#include <string.h>

char *wire_str(const unsigned char *p, size_t n)
{
    if (memchr(p, 0, n) != NULL)
        return NULL;
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

int wire_push(void **arr, size_t *n, size_t elem_size, const void *elem)
{
    void *grown = realloc(*arr, (*n + 1) * elem_size);
    if (grown == NULL)
        return -1;
    memcpy((char *)grown + *n * elem_size, elem, elem_size);
    *arr = grown;
    (*n)++;
    return 0;
}
