/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper for t_memkeys: a process that holds BitLocker keys the way a driver does, so that
 * gdb's gcore can dump it. It reads "vmk HEX" and "fvek METHOD HEX" lines (METHOD 0x8000-0x8005)
 * from a file, keeps the VMK as 32 raw bytes in a heap block, and loads the FVEK into OpenSSL
 * contexts for both directions (a disk driver encrypts writes and decrypts reads): XTS key1||key2,
 * AES-CBC, or Elephant's data key (CBC) and tweak key (ECB). "random N" lines load N XTS keys
 * of random bytes instead (keys the volume does not know). Then it calls ready(), where the test
 * stops it with a breakpoint and takes the core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

__attribute__((noinline)) void ready(void)
{
	__asm__ volatile("" ::: "memory");
}

static size_t unhex(const char *h, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (n < max && sscanf(h + 2 * n, "%2x", &v) == 1)
		out[n++] = (unsigned char)v;
	return n;
}

static EVP_CIPHER_CTX *ctx(const EVP_CIPHER *c, const unsigned char *key, int enc)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	if (!x || !EVP_CipherInit_ex(x, c, NULL, key, NULL, enc)) {
		fprintf(stderr, "keyholder: OpenSSL refused the key\n");
		exit(1);
	}
	return x;
}

int main(int argc, char **argv)
{
	char line[512], what[16], meth[16], hex[300];
	unsigned char key[64], *vmk = NULL;
	EVP_CIPHER_CTX *keep[4096];
	int nkeep = 0;
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: keyholder KEYFILE\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "vmk %299s", hex) == 1) {
			vmk = malloc(64);
			memset(vmk, 0x5a, 64);
			unhex(hex, vmk + 16, 32);
		} else if (sscanf(line, "fvek %15s %299s", meth, hex) == 2) {
			long m = strtol(meth, NULL, 16);
			size_t n = unhex(hex, key, sizeof(key));
			int k256 = m == 0x8001 || m == 0x8003 || m == 0x8005;
			if (m == 0x8004 || m == 0x8005) {
				const EVP_CIPHER *c = k256 ? EVP_aes_256_xts() : EVP_aes_128_xts();
				keep[nkeep++] = ctx(c, key, 1);
				keep[nkeep++] = ctx(c, key, 0);
			} else if (m == 0x8002 || m == 0x8003) {
				const EVP_CIPHER *c = k256 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
				keep[nkeep++] = ctx(c, key, 1);
				keep[nkeep++] = ctx(c, key, 0);
			} else if (m == 0x8000 || m == 0x8001) {
				keep[nkeep++] = ctx(k256 ? EVP_aes_256_cbc() : EVP_aes_128_cbc(), key, 1);
				keep[nkeep++] = ctx(k256 ? EVP_aes_256_cbc() : EVP_aes_128_cbc(), key, 0);
				keep[nkeep++] = ctx(k256 ? EVP_aes_256_ecb() : EVP_aes_128_ecb(), key + 32, 1);
			}
			(void)n;
		} else if (sscanf(line, "%15s %299s", what, hex) == 2 && !strcmp(what, "random")) {
			for (int i = atoi(hex); i > 0 && nkeep < 4000; i--) {
				RAND_bytes(key, 64);
				keep[nkeep++] = ctx(EVP_aes_256_xts(), key, 1);
				keep[nkeep++] = ctx(EVP_aes_128_cbc(), key, 0);
			}
		}
	}
	fclose(f);
	memset(key, 0, sizeof(key));
	memset(hex, 0, sizeof(hex));
	memset(line, 0, sizeof(line));
	ready();
	for (int i = 0; i < nkeep; i++)
		EVP_CIPHER_CTX_free(keep[i]);
	free(vmk);
	return 0;
}
