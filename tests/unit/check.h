/* Minimal unit-test helpers. Each check prints one line that tests/run.sh counts:
 * "PASS: name", "FAIL: name: detail" or "SKIP: name: reason". */
#ifndef BDKIT_TEST_CHECK_H
#define BDKIT_TEST_CHECK_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>

static int check_failures;

#define CHECK(cond, ...) do { \
	char name_[256]; snprintf(name_, sizeof(name_), __VA_ARGS__); \
	if (cond) printf("PASS: %s\n", name_); \
	else { printf("FAIL: %s (%s:%d: %s)\n", name_, __FILE__, __LINE__, #cond); check_failures++; } \
} while (0)

#define SKIP(...) do { char name_[256]; snprintf(name_, sizeof(name_), __VA_ARGS__); printf("SKIP: %s\n", name_); } while (0)

static inline int hex2bin(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;
	for (; hex[0] && hex[1] && n < max; hex += 2) {
		while (*hex == ' ' || *hex == '\n') hex++;
		if (!hex[0] || !hex[1]) break;
		unsigned v; if (sscanf(hex, "%2x", &v) != 1) return -1;
		out[n++] = (uint8_t)v;
	}
	return (int)n;
}

static inline void bin2hex(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) sprintf(out + 2 * i, "%02x", in[i]);
}

#define CHECK_DONE() return check_failures ? 1 : 0
#endif
