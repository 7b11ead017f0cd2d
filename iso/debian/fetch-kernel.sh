#!/bin/sh
# mmdebstrap customize hook: download (not install) the kernel package with
# mmdebstrap's own apt lists. Installing it would pull initramfs-tools into
# the guest and build an initramfs we never use.
set -eu
cd "$KDEV_KERNEL_DIR"
APT_CONFIG=$MMDEBSTRAP_APT_CONFIG apt-get -q -o APT::Sandbox::User=root download "$KDEV_KERNEL_PKG"
