#!/bin/sh
# mmdebstrap customize hook: download (not install) the packages named in
# KDEV_DOWNLOADS (the kernel, busybox for the initrd, GRUB's arm64 modules) with mmdebstrap's own apt
# lists. Installing the kernel would pull initramfs-tools into the guest and
# build an initramfs we never use.
set -eu
cd "$KDEV_KERNEL_DIR"
# shellcheck disable=SC2086 # one word per package
APT_CONFIG=$MMDEBSTRAP_APT_CONFIG apt-get -q -o APT::Sandbox::User=root download $KDEV_DOWNLOADS
