/*
 * Decoding helpers shared by the two binary formats TypeScript writes for the helper: the plan
 * (plan.c) and the supervisor's tables (sup_tables.c). Little-endian, lengths checked by callers.
 */
#ifndef MCPJ_WIRE_H
#define MCPJ_WIRE_H
#include <stddef.h>
#include <stdint.h>

static inline uint32_t wire_u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t wire_u32(const unsigned char *p) { return wire_u16(p) | wire_u16(p + 2) << 16; }
static inline uint64_t wire_u64(const unsigned char *p) { return (uint64_t)wire_u32(p) | (uint64_t)wire_u32(p + 4) << 32; }

/* A heap copy of n bytes as a C string; NULL when they hold a NUL (or out of memory). */
char *wire_str(const unsigned char *p, size_t n);

/* Appends elem (elem_size bytes) to the growable array *arr of *n elements. Returns 0 or -1. */
int wire_push(void **arr, size_t *n, size_t elem_size, const void *elem);

#endif
