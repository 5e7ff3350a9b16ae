/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbdkit: read, write, repair and diagnose BitLocker (FVE) volumes.
 *
 * Conventions:
 *  - every function that can fail returns 0 (or a byte count) on success and a
 *    negative BD_ERR_* code on failure; a human-readable message describing the
 *    failure is then available from bd_last_error() (per thread);
 *  - handles are opaque and come in open/close pairs;
 *  - the library never prints; it reports through the callback of bd_set_log();
 *  - secrets passed in are copied into locked memory and wiped after use.
 *
 * Each wing has its own header (base.h, io.h, fve.h, search.h, tcg.h, escrow.h); keep additions
 * in the matching one. Functions of escrow.h live in libbdkit-escrow.
 */
#ifndef BDKIT_H
#define BDKIT_H

/* One header per wing (doc/architecture.md); include only what you use, or this umbrella. */
#include "base.h"   /* errors, logging, identifiers, progress */
#include "io.h"     /* inputs: files, devices, containers */
#include "fve.h"    /* the format: volumes, unlock, protectors, create, repair, key packages */
#include "search.h" /* recovery-password search, memory-image key search */
#include "tcg.h"    /* measured-boot logs, diagnosis */
#include "escrow.h" /* AD and Entra ID (libbdkit-escrow) */

#endif /* BDKIT_H */
