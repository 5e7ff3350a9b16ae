#!/usr/bin/env python3
"""Make synthetic measured-boot logs for the diagnosis tests: read a real TCG log
(legacy SHA-1 or crypto-agile), apply named edits that mimic one real-world change,
recompute the digests of every bank, write the result.

    eventlog_edit.py IN OUT EDIT...

This is the tests' own, independent reader/writer of the format (diagnose.md §1-2);
it shares no code with bdkit. Edits whose digest is the hash of the event data are
re-hashed; image events (Authenticode digests) get a new made-up digest.
"""
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

HASH = {0x4: hashlib.sha1, 0xB: hashlib.sha256, 0xC: hashlib.sha384, 0xD: hashlib.sha512}
EFI_GLOBAL = bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")

EV_NO_ACTION, EV_SEPARATOR, EV_EVENT_TAG, EV_S_CRTM_VERSION, EV_CPU_MICROCODE = 3, 4, 6, 8, 9
EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_VARIABLE_BOOT = 0x80000001, 0x80000002
EV_EFI_BOOT_SERVICES_APPLICATION, EV_EFI_BOOT_SERVICES_DRIVER = 0x80000003, 0x80000004
EV_EFI_GPT_EVENT, EV_EFI_ACTION, EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x80000006, 0x80000007, 0x80000008
EV_EFI_VARIABLE_AUTHORITY = 0x800000E0
EV_POST_CODE, EV_COMPACT_HASH = 1, 0xC
IMAGE_SECURITY = bytes.fromhex("cbb219d73a3d9645a3bcdad00e67656f")   # d719b2cb-...: db, dbx
X509_GUID = bytes.fromhex("a159c0a5e494a74a87b5ab155c2bf072")
SHA256_GUID = bytes.fromhex("2616c4c14c509240aca941f936934328")


class Log:
    def __init__(self, raw):
        self.first = None          # raw bytes of record 0 (kept as is)
        self.agile = False
        self.sizes = {0x4: 20}     # alg -> digest size
        self.events = []           # dicts: pcr, type, digests {alg: bytes}, data
        self._parse(raw)

    def _parse(self, b):
        pcr, typ = struct.unpack_from("<II", b, 0)
        n = struct.unpack_from("<I", b, 28)[0]
        data = b[32:32 + n]
        if len(data) != n:
            raise ValueError("truncated first record")
        self.first = b[:32 + n]
        off = 32 + n
        if typ == EV_NO_ACTION and data[:16] == b"Spec ID Event03\0":
            self.agile = True
            count = struct.unpack_from("<I", data, 24)[0]
            self.sizes = {}
            self.order = []
            for i in range(count):
                alg, size = struct.unpack_from("<HH", data, 28 + 4 * i)
                self.sizes[alg] = size
                self.order.append(alg)
        else:
            self.order = [0x4]
            self.events.append(dict(pcr=pcr, type=typ, digests={0x4: b[8:28]}, data=data))
        while off < len(b):
            if not any(b[off:]):
                break
            if self.agile:
                pcr, typ, cnt = struct.unpack_from("<III", b, off)
                off += 12
                digests = {}
                for _ in range(cnt):
                    alg = struct.unpack_from("<H", b, off)[0]
                    off += 2
                    digests[alg] = b[off:off + self.sizes[alg]]
                    off += self.sizes[alg]
            else:
                pcr, typ = struct.unpack_from("<II", b, off)
                digests = {0x4: b[off + 8:off + 28]}
                off += 28
            n = struct.unpack_from("<I", b, off)[0]
            off += 4
            self.events.append(dict(pcr=pcr, type=typ, digests=digests, data=b[off:off + n]))
            off += n

    def serialize(self):
        out = bytearray(self.first if self.agile else b"")
        for e in self.events:
            if self.agile:
                out += struct.pack("<III", e["pcr"], e["type"], len(e["digests"]))
                for alg in self.order:
                    if alg in e["digests"]:
                        out += struct.pack("<H", alg) + e["digests"][alg]
            else:
                out += struct.pack("<II", e["pcr"], e["type"]) + e["digests"][0x4]
            out += struct.pack("<I", len(e["data"])) + e["data"]
        return bytes(out)

    def rehash(self, e, what=None):
        """Digest = H(what) (default: the event data) in every bank."""
        src = e["data"] if what is None else what
        e["digests"] = {alg: HASH[alg](src).digest() for alg in self.order}

    def new_digest(self, e, salt):
        """A made-up digest for events whose digest cannot be recomputed (Authenticode, code)."""
        e["digests"] = {alg: HASH[alg](salt + bytes(e["digests"].get(alg, b""))).digest()[:self.sizes[alg]]
                        for alg in self.order}

    def make(self, pcr, typ, data, digest_of=None):
        e = dict(pcr=pcr, type=typ, data=data, digests={})
        self.rehash(e, digest_of)
        return e


def var_name(data):
    nchars = struct.unpack_from("<Q", data, 16)[0]
    return data[32:32 + 2 * nchars].decode("utf-16-le", "replace")


def var_parts(data):
    nchars, dlen = struct.unpack_from("<QQ", data, 16)
    return data[:32 + 2 * nchars], data[32 + 2 * nchars:32 + 2 * nchars + dlen]


def var_data(name, guid, value):
    n = name.encode("utf-16-le")
    return guid + struct.pack("<QQ", len(name), len(value)) + n + value


def siglists(value):
    """[(type guid, owner, data)] of a sequence of EFI_SIGNATURE_LIST."""
    out, off = [], 0
    while off + 28 <= len(value):
        typ = value[off:off + 16]
        lsize, hsize, ssize = struct.unpack_from("<III", value, off + 16)
        body = value[off + 28 + hsize:off + lsize]
        for k in range(0, len(body), ssize):
            out.append((typ, body[k:k + 16], body[k + 16:k + ssize]))
        off += lsize
    return out


def siglist(typ, entries):
    """One EFI_SIGNATURE_LIST of entries [(owner, data)], all of one size."""
    ssize = 16 + len(entries[0][1])
    body = b"".join(o + d for o, d in entries)
    return typ + struct.pack("<III", 28 + len(body), 0, ssize) + body


def find(log, pred):
    return [i for i, e in enumerate(log.events) if pred(e)]


def sipa_patch(data, sipa_type, value):
    """Overwrite every SIPA event of sipa_type (same size) inside a (nested) SIPA sequence."""
    b = bytearray(data)
    count = 0

    def walk(off, end, depth):
        nonlocal count
        while off + 8 <= end:
            t, n = struct.unpack_from("<II", b, off)
            if off + 8 + n > end:
                return
            if t == sipa_type:
                b[off + 8:off + 8 + n] = value.to_bytes(n, "little")
                count += 1
            elif t & 0x40000000 and depth < 8:
                walk(off + 8, off + 8 + n, depth + 1)
            off += 8 + n

    walk(0, len(b), 0)
    return bytes(b), count


def edit_sipa(log, sipa_type, value):
    total = 0
    for e in log.events:
        if e["type"] == EV_EVENT_TAG:
            e["data"], n = sipa_patch(e["data"], sipa_type, value)
            if n:
                log.rehash(e)
                total += n
    if not total:
        raise SystemExit("no SIPA event 0x%08x in the log" % sipa_type)


def boot_app_index(log):
    apps = find(log, lambda e: e["pcr"] == 4 and e["type"] == EV_EFI_BOOT_SERVICES_APPLICATION)
    if not apps:
        raise SystemExit("no boot application in PCR 4")
    return apps[0]


def devpath_file(path, pci=(0x11, 0x4), usb=False):
    nodes = struct.pack("<BBHII", 2, 1, 12, 0x0A0341D0, 0)                    # PciRoot(0)
    nodes += struct.pack("<BBHBB", 1, 1, 6, pci[1], pci[0])                     # Pci(dev,func)
    if usb:
        nodes += struct.pack("<BBHBB", 3, 5, 6, 1, 0)                           # USB(1,0)
    nodes += struct.pack("<BBHIQQ16sBB", 4, 1, 42, 1, 2048, 409600, b"\x11" * 16, 2, 2)  # HD(1,GPT)
    name = path.encode("utf-16-le") + b"\0\0"
    nodes += struct.pack("<BBH", 4, 4, 4 + len(name)) + name                    # File(path)
    nodes += struct.pack("<BBH", 0x7F, 0xFF, 4)
    return nodes


def image_event(log, path, usb=False):
    dp = devpath_file(path, usb=usb)
    data = struct.pack("<QQQQ", 0x7a000000, 0x180000, 0, len(dp)) + dp
    e = dict(pcr=4, type=EV_EFI_BOOT_SERVICES_APPLICATION, data=data, digests={})
    log.new_digest(e, path.encode())
    return e


def pcr7_var(log, name):
    return find(log, lambda e: e["pcr"] == 7 and e["type"] == EV_EFI_VARIABLE_DRIVER_CONFIG and var_name(e["data"]) == name)[0]


def set_var(log, i, value):
    hdr, _ = var_parts(log.events[i]["data"])
    hdr = bytearray(hdr)
    struct.pack_into("<Q", hdr, 24, len(value))
    log.events[i]["data"] = bytes(hdr) + value
    log.rehash(log.events[i])


def pcr7_separator(log):
    return find(log, lambda e: e["pcr"] == 7 and e["type"] == EV_SEPARATOR)[0]


def db_cert(log, k):
    """The k-th X.509 certificate (owner, DER) of db."""
    _, val = var_parts(log.events[pcr7_var(log, "db")]["data"])
    certs = [(o, d) for t, o, d in siglists(val) if t == X509_GUID]
    return certs[k]


def sipa(t, data):
    return struct.pack("<II", t, len(data)) + data


def sipa_insert_module(data, path):
    """Insert a LOADEDMODULE container into the top TrustBoundary of a SIPA event, in the middle."""
    t, n = struct.unpack_from("<II", data, 0)
    assert t == 0x40010001
    inner, off, mid = data[8:8 + n], 0, None
    while off + 8 <= len(inner):
        it, isz = struct.unpack_from("<II", inner, off)
        if mid is None and off >= len(inner) // 2:
            mid = off
        off += 8 + isz
    mid = mid if mid is not None else len(inner)
    mod = sipa(0x40010003, sipa(0x00070001, path.encode("utf-16-le") + b"\0\0") + sipa(0x00070002, struct.pack("<Q", 4096)) +
               sipa(0x00070004, hashlib.sha256(path.encode()).digest()))
    inner = inner[:mid] + mod + inner[mid:]
    return struct.pack("<II", t, len(inner)) + inner + data[8 + n:]


def trustpoint_index(log):
    tp = find(log, lambda e: e["pcr"] == 0xFFFFFFFF)
    return tp[0] if tp else None


def set_aik_digest(log, salt):
    i = trustpoint_index(log)
    if i is None:
        return
    d = bytearray(log.events[i]["data"])
    k = d.find(struct.pack("<II", 0x80080004, 20))
    if k >= 0:
        d[k + 8:k + 28] = hashlib.sha1(salt + bytes(d[k + 8:k + 28])).digest()
    log.events[i]["data"] = bytes(d)


def to_agile(log, banks):
    """Re-express the log with other banks (a PCR bank switch): data-hashed events are re-hashed,
    the others get a made-up digest of the new size (Authenticode and firmware code cannot be hashed here)."""
    vendor = b""
    spec = b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(banks))
    spec += b"".join(struct.pack("<HH", a, HASH[a]().digest_size) for a in banks) + bytes([len(vendor)]) + vendor
    old = log.events
    log.first = struct.pack("<II", 0, EV_NO_ACTION) + bytes(20) + struct.pack("<I", len(spec)) + spec
    log.agile = True
    log.order = list(banks)
    log.sizes = {a: HASH[a]().digest_size for a in banks}
    data_hashed = {EV_SEPARATOR, EV_EFI_ACTION, EV_S_CRTM_VERSION, EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_GPT_EVENT,
                   EV_COMPACT_HASH, EV_EVENT_TAG}
    for e in old:
        if e["type"] in data_hashed or (e["type"] == EV_EFI_VARIABLE_AUTHORITY and e["data"][:16] == IMAGE_SECURITY):
            log.rehash(e)
        elif e["type"] == EV_EFI_VARIABLE_BOOT:
            log.rehash(e, var_parts(e["data"])[1])
        else:
            src = b"".join(e["digests"].values())
            e["digests"] = {a: HASH[a](b"bank switch" + src).digest() for a in banks}


# ---- planned changes, modelled as UEFI firmware applies and measures them (for the predict tests) ----

def update_payload(raw):
    """The signature lists of an update file: an EFI_VARIABLE_AUTHENTICATION_2 (EFI_TIME, then a
    WIN_CERTIFICATE_UEFI_GUID whose dwLength covers itself) in front of them, or bare lists."""
    if len(raw) >= 40:
        dwlen, rev, ctype = struct.unpack_from("<IHH", raw, 16)
        if rev == 0x0200 and ctype == 0x0EF1 and 16 + dwlen <= len(raw):
            return raw[16 + dwlen:]
    return raw


def append_lists(old, new):
    """UEFI append write of signature lists: entries already present (same type and data) are skipped;
    the new ones of each input list become one list."""
    have = {(t, d) for t, o, d in siglists(old)}
    out, off = bytearray(old), 0
    while off + 28 <= len(new):
        typ = new[off:off + 16]
        lsize, hsize, ssize = struct.unpack_from("<III", new, off + 16)
        body = new[off + 28 + hsize:off + lsize]
        fresh = [(body[k:k + 16], body[k + 16:k + ssize]) for k in range(0, len(body), ssize)
                 if (typ, body[k + 16:k + ssize]) not in have]
        if fresh:
            out += siglist(typ, fresh)
        off += lsize
    return bytes(out)


_cache = {}


def pe_hash(path, alg):
    """Authenticode hash by pesign (an independent implementation)."""
    if (path, alg) in _cache:
        return _cache[(path, alg)]
    out = subprocess.run(["pesign", "-d", alg, "--hash", "-i", path], capture_output=True, text=True, check=True).stdout
    _cache[(path, alg)] = bytes.fromhex(out.split("hash:")[1].strip())
    return _cache[(path, alg)]


def cn(name):
    for part in name.replace(", ", "/").split("/"):
        if part.strip().startswith("CN"):
            return part.split("=", 1)[1].strip()
    return None


def db_signer(log, path):
    """The db entry (owner + DER) that authorises the image: the first of its signatures (as listed by
    sbverify) whose issuer is a db certificate (subject names by openssl)."""
    out = subprocess.run(["sbverify", "--list", path], capture_output=True, text=True).stdout
    issuers, on = [], False
    for line in out.splitlines():
        if line.startswith("image signature issuers:"):
            on = True
        elif on and line.strip().startswith("- "):
            issuers.append(cn(line.strip()[2:]))
            on = False
    _, val = var_parts(log.events[pcr7_var(log, "db")]["data"])
    subjects = []
    for t, owner, der in siglists(val):
        if t == X509_GUID:
            subj = subprocess.run(["openssl", "x509", "-inform", "der", "-noout", "-subject"], input=der,
                                  capture_output=True, check=True).stdout.decode()
            subjects.append((cn(subj.split("=", 1)[1]), owner + der))
    for iss in issuers:
        for name, entry in subjects:
            if iss and iss == name:
                return entry
    return None


def boot_app(log, arg):
    path, _, target = arg.partition("@")
    apps = find(log, lambda e: e["pcr"] == 4 and e["type"] == EV_EFI_BOOT_SERVICES_APPLICATION)
    if target:
        apps = [i for i in apps if target.encode("utf-16-le") in log.events[i]["data"]]
    else:
        # the first application loaded from a disk: a hard-drive node (type 4, subtype 1, 42 bytes) in its path
        apps = [i for i in apps if b"\x04\x01\x2a\x00" in log.events[i]["data"]]
    a = apps[0]
    names = {0x4: "sha1", 0xB: "sha256"}
    e = log.events[a]
    e["digests"] = {alg: pe_hash(path, names[alg]) if alg in names else
                    HASH[alg](b"not sealed" + path.encode()).digest() for alg in log.order}
    sb = log.events[pcr7_var(log, "SecureBoot")]["data"]
    if var_parts(sb)[1] != b"\x01":
        return
    entry = db_signer(log, path)
    if entry is None:
        return          # Secure Boot refuses it: no authority is logged
    auth = var_data("db", IMAGE_SECURITY, entry)
    prev_img = max([i for i, x in enumerate(log.events[:a]) if x["type"] in (EV_EFI_BOOT_SERVICES_APPLICATION,
                    EV_EFI_BOOT_SERVICES_DRIVER, 0x80000005)] or [-1])
    auths = [i for i, x in enumerate(log.events[:a]) if x["type"] == EV_EFI_VARIABLE_AUTHORITY and x["pcr"] == 7]
    own = [i for i in auths if i > prev_img]
    before = any(log.events[i]["data"] == auth for i in auths if i <= prev_img)
    if own and log.events[own[-1]]["data"] == auth:
        return
    if before:
        for i in reversed(own):
            del log.events[i]
        return
    if own:
        log.events[own[-1]]["data"] = auth
        log.rehash(log.events[own[-1]])
        return
    log.events[a:a] = [log.make(7, EV_EFI_VARIABLE_AUTHORITY, auth)]


def apply(log, edit):
    name, _, arg = edit.partition("=")
    if name == "boot-order":
        # BootOrder reversed (PCR 1) and another boot option tried before the Windows Boot Manager (PCR 4)
        i = find(log, lambda e: e["type"] == EV_EFI_VARIABLE_BOOT and var_name(e["data"]) == "BootOrder")[0]
        hdr, val = var_parts(log.events[i]["data"])
        entries = [val[k:k + 2] for k in range(0, len(val), 2)]
        val = b"".join(reversed(entries))
        log.events[i]["data"] = hdr + val
        log.rehash(log.events[i], val)
        a = boot_app_index(log)
        log.events[a:a] = [image_event(log, "\\EFI\\Boot\\bootx64.efi"),
                           log.make(4, EV_EFI_ACTION, b"Returning from EFI Application from Boot Option")]
    elif name == "boot-media":
        a = boot_app_index(log)
        log.events[a:a] = [image_event(log, "\\EFI\\BOOT\\BOOTX64.EFI", usb=True),
                           log.make(4, EV_EFI_ACTION, b"Returning from EFI Application from Boot Option")]
    elif name == "boot-manager":
        log.new_digest(log.events[boot_app_index(log)], b"new bootmgfw.efi")
    elif name == "firmware":
        i = find(log, lambda e: e["type"] == EV_S_CRTM_VERSION)[0]
        d = bytearray(log.events[i]["data"])
        d[0:3] = b"M61"
        log.events[i]["data"] = bytes(d)
        log.rehash(log.events[i])
        for i in find(log, lambda e: e["pcr"] == 0 and e["type"] == EV_EFI_PLATFORM_FIRMWARE_BLOB):
            log.new_digest(log.events[i], b"new firmware volume")
    elif name == "option-rom":
        i = find(log, lambda e: e["pcr"] == 2 and e["type"] == EV_EFI_BOOT_SERVICES_DRIVER)[0]
        log.new_digest(log.events[i], b"updated option ROM")
    elif name == "partition":
        # the last partition shrunk by a quarter (a resize)
        i = find(log, lambda e: e["type"] == EV_EFI_GPT_EVENT)[0]
        d = bytearray(log.events[i]["data"])
        esz = struct.unpack_from("<I", d, 84)[0]
        n = struct.unpack_from("<Q", d, 92)[0]
        off = 100 + (n - 1) * esz
        start, end = struct.unpack_from("<QQ", d, off + 32)
        struct.pack_into("<Q", d, off + 40, end - (end - start) // 4)
        log.events[i]["data"] = bytes(d)
        log.rehash(log.events[i])
    elif name == "secure-boot-off":
        i = find(log, lambda e: e["type"] == EV_EFI_VARIABLE_DRIVER_CONFIG and var_name(e["data"]) == "SecureBoot")[0]
        hdr, val = var_parts(log.events[i]["data"])
        log.events[i]["data"] = hdr + b"\0"
        log.rehash(log.events[i])
        # with Secure Boot off nothing is verified against db: no authority events
        log.events = [e for e in log.events if e["type"] != EV_EFI_VARIABLE_AUTHORITY]
    elif name == "debug":
        edit_sipa(log, 0x00040001, 1)   # BOOTDEBUGGING
    elif name == "test-signing":
        edit_sipa(log, 0x00050003, 1)   # TESTSIGNING
    elif name == "unlock":
        edit_sipa(log, 0x00020005, int(arg, 0))   # BITLOCKER_UNLOCK flags
    elif name == "bootcount":
        edit_sipa(log, 0x00020002, int(arg, 0))   # BOOTCOUNTER
    elif name == "pk-rotate":
        # a new platform key (firmware update that also rotates the Secure Boot PK)
        i = pcr7_var(log, "PK")
        d = bytearray(log.events[i]["data"])
        d[-40] ^= 0xFF
        log.events[i]["data"] = bytes(d)
        log.rehash(log.events[i])
    elif name == "kek-add":
        # a second KEK certificate appended (as the Microsoft KEK CA 2023 update does)
        i = pcr7_var(log, "KEK")
        _, val = var_parts(log.events[i]["data"])
        set_var(log, i, val + siglist(X509_GUID, [db_cert(log, 1)]))
    elif name == "db-add":
        i = pcr7_var(log, "db")
        _, val = var_parts(log.events[i]["data"])
        set_var(log, i, val + siglist(SHA256_GUID, [(bytes(16), hashlib.sha256(b"allowed image").digest())]))
    elif name == "dbx-add":
        i = pcr7_var(log, "dbx")
        _, val = var_parts(log.events[i]["data"])
        set_var(log, i, val + siglist(SHA256_GUID, [(bytes(16), hashlib.sha256(b"revoked %d" % k).digest()) for k in range(3)]))
    elif name in ("dma-off", "uefi-debug"):
        text = b"DMA Protection Disabled" if name == "dma-off" else b"UEFI Debug Mode"
        s = pcr7_separator(log)
        log.events[s:s] = [log.make(7, EV_EFI_ACTION, text)]
    elif name == "option-rom-removed":
        # the add-in card is gone: its driver (PCR 2) and the db authority that verified it (PCR 7)
        d = find(log, lambda e: e["pcr"] == 2 and e["type"] == EV_EFI_BOOT_SERVICES_DRIVER)[0]
        a = max(i for i in find(log, lambda e: e["type"] == EV_EFI_VARIABLE_AUTHORITY) if i < d)
        del log.events[d]
        del log.events[a]
    elif name == "authority-added":
        # a boot application signed by another db certificate ran first (e.g. a vendor tool from disk)
        owner, cert = db_cert(log, 0)
        a = boot_app_index(log)
        auth = log.make(7, EV_EFI_VARIABLE_AUTHORITY, var_data("db", IMAGE_SECURITY, owner + cert))
        log.events[a:a] = [auth, image_event(log, "\\EFI\\HP\\SystemDiags\\CpuDiag.efi"),
                           log.make(4, EV_EFI_ACTION, b"Returning from EFI Application from Boot Option")]
    elif name == "sipa-module":
        # one more boot driver loaded by Windows (PCR 13): one SIPA module inserted in the middle
        i = max(find(log, lambda e: e["pcr"] == 13 and e["type"] == EV_EVENT_TAG), key=lambda k: len(log.events[k]["data"]))
        log.events[i]["data"] = sipa_insert_module(log.events[i]["data"], arg or "\\Windows\\System32\\drivers\\extra.sys")
        log.rehash(log.events[i])
    elif name == "volatile":
        # firmware that measures changing data into PCR 0 on every boot (a counter, a time stamp)
        i = find(log, lambda e: e["pcr"] == 0 and e["type"] == EV_POST_CODE)[0]
        log.new_digest(log.events[i], b"volatile %s" % arg.encode())
    elif name == "bank-switch":
        to_agile(log, [0xB])
    elif name == "tpm-cleared":
        # the same machine, but a cleared TPM: a new attestation key, the boot counter starts again
        set_aik_digest(log, b"new AIK")
        edit_sipa(log, 0x00020002, int(arg or "1", 0))
    elif name == "platform":
        # the drive moved to another machine: other firmware, platform key, network adapter, CPU, TPM
        apply(log, "firmware")
        apply(log, "pk-rotate")
        for i in find(log, lambda e: e["type"] == EV_EFI_VARIABLE_BOOT):
            d = log.events[i]["data"]
            d2 = d.replace(bytes.fromhex("dc4a3e7c818d"), bytes.fromhex("a0b1c2d3e4f5"))
            if d2 != d:
                log.events[i]["data"] = d2
                log.rehash(log.events[i], var_parts(d2)[1])
        for i in find(log, lambda e: e["type"] == EV_CPU_MICROCODE):
            log.events[i]["data"] = log.events[i]["data"].replace(b"000306F2", b"000806EC")
            log.new_digest(log.events[i], b"other cpu")
        set_aik_digest(log, b"other TPM")
    elif name in ("dbx-append", "db-append", "kek-append", "pk-replace"):
        var = {"dbx-append": "dbx", "db-append": "db", "kek-append": "KEK", "pk-replace": "PK"}[name]
        new = update_payload(open(arg, "rb").read())
        i = pcr7_var(log, var)
        _, val = var_parts(log.events[i]["data"])
        val2 = new if var == "PK" else append_lists(val, new)
        if val2 != val:
            set_var(log, i, val2)
    elif name == "boot-app":
        boot_app(log, arg)
    elif name == "set-boot-order":
        i = find(log, lambda e: e["type"] == EV_EFI_VARIABLE_BOOT and var_name(e["data"]) == "BootOrder")[0]
        e = log.events[i]
        hdr, val = var_parts(e["data"])
        whole = all(HASH[a](e["data"]).digest() == d for a, d in e["digests"].items())
        new = b"".join(struct.pack("<H", int(x, 16)) for x in arg.split(","))
        hdr = bytearray(hdr)
        struct.pack_into("<Q", hdr, 24, len(new))
        e["data"] = bytes(hdr) + new
        log.rehash(e, None if whole else new)
    elif name == "secure-boot":
        i = pcr7_var(log, "SecureBoot")
        set_var(log, i, b"\x01" if arg == "on" else b"\x00")
        if arg == "off":
            log.events = [e for e in log.events if not (e["type"] == EV_EFI_VARIABLE_AUTHORITY and e["data"][:16] == IMAGE_SECURITY)]
    elif name == "drop-trustpoint":
        i = trustpoint_index(log)
        if i is not None:
            del log.events[i]
    elif name == "truncate":
        raise SystemExit("truncate is done by the shell test (head -c)")
    else:
        raise SystemExit("unknown edit " + edit)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    log = Log(open(sys.argv[1], "rb").read())
    for edit in sys.argv[3:]:
        apply(log, edit)
    open(sys.argv[2], "wb").write(log.serialize())


if __name__ == "__main__":
    main()
