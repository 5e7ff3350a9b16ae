/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Public-key (certificate / smart card / Data Recovery Agent) protectors, type 0x1000.
 * Layout and what is established about it: doc/public-key-protector.md.
 *
 *  pkprotector.c  the datums of a 0x1000 VMK entry (bounded parsing, no secrets needed);
 *  pubkey.c       RSA keys and certificates through OpenSSL: private keys from PEM/DER
 *                 (PKCS#8 encrypted or not) and PKCS#12 files, RSA decryption with each
 *                 candidate padding, public-key matching, certificate thumbprint, key usage
 *                 and EKU checks;
 *  pkcs11.c       private keys on PKCS#11 tokens through p11-kit (module loading, RFC 7512 URIs).
 *
 * Not part of the public API (yet): the unlock door (bd_unlock with a certificate secret) and
 * `protector add certificate` are built on these.
 */
#ifndef BDKIT_PUBKEY_H
#define BDKIT_PUBKEY_H

#include <stddef.h>
#include <stdint.h>

#include "metadata.h"

/* ---- RSA public keys (pubkey.c) ---- */

#define BD_RSA_MAX_BYTES 2048u    /* modulus up to 16384 bits (what CNG accepts) */

/* Big-endian magnitudes without leading zero bytes. */
struct bd_rsa_pub {
	uint8_t n[BD_RSA_MAX_BYTES];
	size_t nlen;
	uint8_t e[8];
	size_t elen;
	unsigned bits;               /* bit length of n */
};
/* Set from big-endian n and e (leading zeros allowed). BD_ERR_UNSUPPORTED when too large or zero. */
int bd_rsa_pub_set(struct bd_rsa_pub *k, const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen);
/* 1 when both keys have the same modulus and exponent. */
int bd_rsa_pub_equal(const struct bd_rsa_pub *a, const struct bd_rsa_pub *b);
/* The exponent as a number (0 when it does not fit 64 bits). */
uint64_t bd_rsa_pub_exponent(const struct bd_rsa_pub *k);
/* SHA-1 of the DER RSAPublicKey: what RFC 5280 §4.2.1.2 method (1) puts in a certificate's subject
 * key identifier, so most certificates can be matched to a protector by it. 0 or BD_ERR_*. */
int bd_rsa_pub_key_id(const struct bd_rsa_pub *k, uint8_t sha1[20]);

/* CNG BCRYPT_RSAKEY_BLOB "RSA1" (public): u32 magic, bit length, cbPublicExp, cbModulus, cbPrime1,
 * cbPrime2 (both 0), then exponent and modulus big-endian. */
#define BD_CNG_RSA1 0x31415352u
int bd_rsa_pub_from_cng(const uint8_t *blob, size_t len, struct bd_rsa_pub *out);
/* The blob for k (24 + elen + nlen bytes) into out (outlen >= that); returns its length or BD_ERR_INVALID. */
long bd_rsa_pub_to_cng(const struct bd_rsa_pub *k, uint8_t *out, size_t outlen);

/* RSA paddings tried on a public-key protector's ciphertext (the one Windows uses is not known). */
enum bd_rsa_padding {
	BD_PAD_PKCS1 = 1,            /* RSAES-PKCS1-v1_5 */
	BD_PAD_OAEP_SHA1 = 2,        /* RSAES-OAEP, SHA-1 and MGF1-SHA-1, empty label */
	BD_PAD_OAEP_SHA256 = 3,      /* RSAES-OAEP, SHA-256 and MGF1-SHA-256, empty label */
};
const char *bd_rsa_padding_name(int padding);   /* "PKCS#1 v1.5", "OAEP SHA-1", "OAEP SHA-256" */
/* Remove a padding from a raw RSA block em (k bytes: the modulus length, as m^d mod n gives it),
 * for tokens that only do raw RSA (CKM_RSA_X_509) for a padding. BD_ERR_WRONG_KEY when it does not check. */
int bd_rsa_unpad(int padding, const uint8_t *em, size_t k, uint8_t *out, size_t *outlen);
/* Encrypt pt for k (what `protector add certificate` will do; tests use it). ct gets k's modulus
 * length (*ctlen in: room, out: bytes). 0 or BD_ERR_INVALID (too long for the padding) / BD_ERR_*. */
int bd_rsa_encrypt(const struct bd_rsa_pub *k, int padding, const uint8_t *pt, size_t ptlen, uint8_t *ct,
		   size_t *ctlen);

/* ---- private keys (pubkey.c): the loaders are public (bdkit/fve.h) ---- */

/* The public half (RSA only). */
int bd_privkey_public(const struct bd_privkey *k, struct bd_rsa_pub *out);
/* The certificate that came with the key (PEM bundle, PKCS#12, token): 1 and its SHA-1 thumbprint, or 0. */
int bd_privkey_cert_thumbprint(const struct bd_privkey *k, uint8_t sha1[20]);

/* RSA-decrypt ct (as stored: big-endian, the modulus length) with one padding into pt (ptlen in: room;
 * out: bytes). BD_ERR_WRONG_KEY when the padding does not check (or the token refuses the mechanism). */
int bd_privkey_decrypt(struct bd_privkey *k, int padding, const uint8_t *ct, size_t ctlen, uint8_t *pt,
		       size_t *ptlen);
/*
 * Try every padding (PKCS#1 v1.5, OAEP SHA-1, OAEP SHA-256), on ct as stored and then byte-reversed
 * (CryptoAPI keeps RSA numbers little-endian, CNG big-endian), until accept(pt, len, ud) returns 0.
 * accept returns BD_ERR_WRONG_KEY to go on (e.g. the AES-CCM tag did not verify) or another error
 * to stop. Plaintexts are wiped after accept. *padding and *reversed (may be NULL) say what worked.
 * BD_ERR_WRONG_KEY when nothing was accepted.
 */
int bd_privkey_decrypt_try(struct bd_privkey *k, const uint8_t *ct, size_t ctlen,
			   int (*accept)(const uint8_t *pt, size_t len, void *ud), void *ud, int *padding,
			   int *reversed);

/* ---- certificates (pubkey.c) ---- */

struct bd_cert;
/* X.509 certificate, PEM or DER (.cer). BD_ERR_IO / BD_ERR_INVALID. */
int bd_cert_load(const char *path, struct bd_cert **out);
int bd_cert_from_der(const uint8_t *der, size_t len, struct bd_cert **out);
void bd_cert_free(struct bd_cert *c);
/* SHA-1 over the DER certificate: Windows' certificate thumbprint. */
void bd_cert_thumbprint(const struct bd_cert *c, uint8_t sha1[20]);
/* Subject as one line (RFC 2253), truncated to outlen. */
void bd_cert_subject(const struct bd_cert *c, char *out, size_t outlen);
/* Its RSA public key; BD_ERR_UNSUPPORTED for other algorithms (message names it). */
int bd_cert_public(const struct bd_cert *c, struct bd_rsa_pub *out);

#define BD_OID_BITLOCKER     "1.3.6.1.4.1.311.67.1.1"   /* BitLocker Drive Encryption EKU */
#define BD_OID_BITLOCKER_DRA "1.3.6.1.4.1.311.67.1.2"   /* BitLocker Data Recovery Agent EKU */
/*
 * The checks Windows makes before it protects a volume with a certificate (doc/public-key-protector.md):
 * an RSA key; a key usage extension, when present, with keyEncipherment (or dataEncipherment or
 * keyAgreement, which Windows also accepts); an extended key usage, when present, with the BitLocker
 * OID, the DRA OID or anyExtendedKeyUsage. With dra: the DRA OID is required.
 * 0 or BD_ERR_INVALID / BD_ERR_UNSUPPORTED with a one-line message.
 */
int bd_cert_check_usage(const struct bd_cert *c, int dra);

/* ---- PKCS#11 tokens (pkcs11.c; through bd_privkey_from_pkcs11) ---- */

struct bd_p11;
int bd_p11_open(const char *uri, const char *pin, const char *module, struct bd_p11 **out);
int bd_p11_public(const struct bd_p11 *t, struct bd_rsa_pub *out);
/* 1 and the thumbprint of the certificate with the key's CKA_ID (same public key), else 0. */
int bd_p11_cert_thumbprint(const struct bd_p11 *t, uint8_t sha1[20]);
int bd_p11_decrypt(struct bd_p11 *t, int padding, const uint8_t *ct, size_t ctlen, uint8_t *pt, size_t *ptlen);
void bd_p11_close(struct bd_p11 *t);

/* ---- the 0x1000 protector's datums (pkprotector.c) ---- */

#define BD_PK_KEY_TYPE 0x2006   /* key type of the USE_KEY datum and of the intermediate key K */

struct bd_pk_prot {
	/* the datums as found among the VMK entry's direct children (raw points into the metadata) */
	int have_ct, have_blob, have_info, have_use_key, have_wrapped, have_vmk;
	struct bd_datum ct_datum;      /* type 0x000C ASYMMETRIC_ENCRYPTED_KEY */
	struct bd_datum blob_datum;    /* type 0x000D EXPORTED_KEY (role 0x000C on the real sample) */
	struct bd_datum info_datum;    /* type 0x000E PUBLIC_KEY_INFO ("gsin") */
	struct bd_datum use_key;       /* type 0x0004 USE_KEY, key type 0x2006 */
	struct bd_datum wrapped;       /* AES-CCM inside use_key: K encrypted with the VMK */
	struct bd_datum enc_vmk;       /* AES-CCM direct child: the VMK encrypted with K */
	/* decoded */
	const uint8_t *ct;             /* RSA ciphertext */
	size_t ct_len;
	uint32_t blob_magic;           /* CNG blob magic ("RSA1" = 0x31415352, "ECK1", ...) */
	int have_rsa;
	struct bd_rsa_pub rsa;         /* from an RSA1 blob */
	char key_alg[24];              /* "RSA", "ECDH P-256", ...; "" when no blob */
	unsigned key_bits;
	uint32_t cert_type;            /* "gsin" u32 after the size: 1 DRA, 2 not a DRA (WMI CertType) */
	const uint8_t *thumbprint;     /* "gsin" hash: the certificate's SHA-1 thumbprint */
	size_t thumbprint_len;
	size_t info_tail_len;          /* bytes after the hash in the "gsin" record (1 on the sample, 00) */
	uint16_t use_key_type;         /* 0x2006 */
};
/* Parse a VMK entry (role 2, type 8) with protection type 0x1000. Missing datums are flagged, not
 * errors; malformed ones are BD_ERR_CORRUPT (message says which). */
int bd_pk_prot_parse(const struct bd_datum *vmk_entry, struct bd_pk_prot *out);

/* 1 when the private key belongs to this protector: the same RSA public key, or the thumbprint of the
 * certificate that came with the key equals the protector's. */
int bd_pk_prot_matches(const struct bd_pk_prot *pk, struct bd_privkey *k);
/*
 * The per-kind step "private key + public-key protector -> VMK": RSA-decrypt datum 1 with each
 * candidate padding (bd_privkey_decrypt_try), take the plaintext as K (32 bytes, or a 44-byte KEY
 * datum of type 0x2006), and accept it only when K opens datum 5 (AES-CCM tag) to a 32-byte key.
 * vmk gets it; *padding and *reversed say what worked. BD_ERR_WRONG_KEY when nothing opened it,
 * BD_ERR_CORRUPT when the protector lacks a datum, BD_ERR_IO/NOMEM from the token.
 */
int bd_pk_prot_open(const struct bd_pk_prot *pk, struct bd_privkey *k, uint8_t vmk[32], int *padding,
		    int *reversed);

#endif /* BDKIT_PUBKEY_H */
