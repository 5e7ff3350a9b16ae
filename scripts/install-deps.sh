#!/bin/sh
# Install the Debian packages that bdkit's build, demo and tests need.
# Idempotent and quiet when everything is already present.
set -e
PKGS="build-essential clang pkg-config libssl-dev libfuse3-dev fuse3 nbdkit nbdkit-plugin-dev libnbd-bin
 libldap-dev libcurl4-openssl-dev libjson-c-dev zlib1g-dev
 dislocker libbde-utils python3-libbde cryptsetup-bin ntfs-3g tpm2-tools xz-utils dosfstools exfatprogs mtools
 slapd ldap-utils python3
 libewf-dev libvhdi-dev libvmdk-dev libqcow-dev ewf-tools qemu-utils gdb aeskeyfind man-db
 samba-ad-dc samba-ad-provision iproute2
 openssl libp11-kit-dev softhsm2 opensc
 swtpm swtpm-tools pesign sbsigntool osslsigncode shim-signed grub-efi-amd64-signed systemd-boot-efi"
# make bench also compares with hashcat (BitLocker mode 22100) on the CPU's OpenCL runtime
[ "${1:-}" = --bench ] && PKGS="$PKGS hashcat pocl-opencl-icd ocl-icd-libopencl1"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "bdkit: installing missing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
