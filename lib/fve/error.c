/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One error model: negative BD_ERR_* codes plus a per-thread message. */
#include <errno.h>
#include <stdio.h>

#include "internal.h"

static _Thread_local char last_error[512];
static bd_log_fn log_fn;
static void *log_userdata;

const char *bd_strerror(int code)
{
	switch (code) {
	case BD_OK: return "success";
	case BD_ERR_IO: return "I/O error";
	case BD_ERR_NOT_BITLOCKER: return "not a BitLocker volume";
	case BD_ERR_CORRUPT: return "corrupt metadata";
	case BD_ERR_WRONG_KEY: return "wrong key";
	case BD_ERR_NO_PROTECTOR: return "no matching protector";
	case BD_ERR_UNSUPPORTED: return "unsupported";
	case BD_ERR_NOMEM: return "out of memory";
	case BD_ERR_INVALID: return "invalid argument";
	case BD_ERR_TRUNCATED: return "truncated input";
	case BD_ERR_LOCKED: return "volume is locked";
	case BD_ERR_READONLY: return "read-only";
	case BD_ERR_EXISTS: return "target holds data";
	case BD_ERR_STATE: return "volume state forbids this";
	case BD_ERR_INTERRUPTED: return "interrupted";
	case BD_ERR_NOT_FOUND: return "not found";
	case BD_ERR_AUTH: return "authentication failed";
	case BD_ERR_DENIED: return "permission denied";
	}
	return "unknown error";
}

int bd_errno(int code)
{
	switch (code) {
	case BD_ERR_READONLY: case BD_ERR_STATE: case BD_ERR_LOCKED: return EROFS;
	case BD_ERR_NOMEM: return ENOMEM;
	case BD_ERR_INVALID: return EINVAL;
	case BD_ERR_INTERRUPTED: return EINTR;
	case BD_ERR_NOT_FOUND: return ENOENT;
	case BD_ERR_AUTH: return EACCES;
	case BD_ERR_DENIED: return EPERM;
	}
	return EIO;
}

const char *bd_last_error(void)
{
	return last_error;
}

int bd_err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	bd_log(BD_LOG_DEBUG, "error %d: %s", code, last_error);
	return code;
}

void bd_set_log(bd_log_fn fn, void *userdata)
{
	log_fn = fn;
	log_userdata = userdata;
}

void bd_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_userdata);
}
