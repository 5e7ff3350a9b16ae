/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: error codes, messages, logging, identifiers, progress.
 * Part of the public API; <bdkit/bdkit.h> includes every wing header (conventions there).
 */
#ifndef BDKIT_BASE_H
#define BDKIT_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BDKIT_VERSION "0.1.0"

/* ===================================================================== */
/* Errors and logging                                                    */
/* ===================================================================== */

enum bd_error {
	BD_OK                = 0,
	BD_ERR_IO            = -1,  /* a read or write of the source failed */
	BD_ERR_NOT_BITLOCKER = -2,  /* no BitLocker volume found in the input */
	BD_ERR_CORRUPT       = -3,  /* metadata (or other structure) damaged beyond use */
	BD_ERR_WRONG_KEY     = -4,  /* the secret does not unlock any protector */
	BD_ERR_NO_PROTECTOR  = -5,  /* the volume has no protector usable with this secret kind */
	BD_ERR_UNSUPPORTED   = -6,  /* a feature bdkit does not implement */
	BD_ERR_NOMEM         = -7,
	BD_ERR_INVALID       = -8,  /* malformed argument (bad recovery password, bad hex, ...) */
	BD_ERR_TRUNCATED     = -9,  /* the input is shorter than the volume it holds */
	BD_ERR_LOCKED        = -10, /* the operation needs an unlocked volume */
	BD_ERR_READONLY      = -11, /* opened read-only, or the medium refuses writes */
	BD_ERR_EXISTS        = -12, /* target holds data and no force was given */
	BD_ERR_STATE         = -13, /* the volume's conversion state forbids the operation */
	BD_ERR_INTERRUPTED   = -14, /* stopped by the caller (signal, cancel) */
	BD_ERR_NOT_FOUND     = -15, /* no such object: a protector ID, a directory entry, Graph 404 */
	BD_ERR_AUTH          = -16, /* authentication failed: directory bind, sign-in, token rejected (HTTP 401) */
	BD_ERR_DENIED        = -17, /* authenticated but not allowed (LDAP insufficient access, HTTP 403) */
};

/* Short fixed text for an error code ("wrong key", ...). */
const char *bd_strerror(int code);
/* The errno for an error code (EROFS, ENOMEM, EINVAL, EINTR, ENOENT, EACCES, EPERM, else EIO): FUSE and nbdkit answer
 * failed reads and writes with it. */
int bd_errno(int code);
/* The detailed message of the last failure in the calling thread ("" if none). */
const char *bd_last_error(void);

enum bd_log_level { BD_LOG_ERROR = 0, BD_LOG_WARN = 1, BD_LOG_INFO = 2, BD_LOG_DEBUG = 3 };
typedef void (*bd_log_fn)(int level, const char *msg, void *userdata);
/* Set the process-wide log callback (NULL: silent). */
void bd_set_log(bd_log_fn fn, void *userdata);

/* ===================================================================== */
/* Identifiers and small helpers                                         */
/* ===================================================================== */

/* GUIDs are kept in on-disk (mixed-endian) byte order. */
void bd_guid_format(const uint8_t guid[16], char out[37]);          /* lower case */
int bd_guid_parse(const char *text, uint8_t guid[16]);              /* accepts {..} and any case */
/* FILETIME (100 ns since 1601) to "YYYY-MM-DD HH:MM:SS UTC"; out >= 32 bytes. */
void bd_filetime_format(uint64_t filetime, char *out, size_t outlen);
/* Are all len bytes of buf zero? (len 0: true) */
bool bd_is_zero(const void *buf, size_t len);

/* ===================================================================== */
/* Progress                                                              */
/* ===================================================================== */

/* Progress: return nonzero to cancel (the call then fails with BD_ERR_INTERRUPTED). */
typedef int (*bd_progress_fn)(uint64_t done, uint64_t total, void *userdata);

#ifdef __cplusplus
}
#endif
#endif /* BDKIT_BASE_H */
