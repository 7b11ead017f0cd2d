#!/bin/sh
# Buildroot post-build script for the kdev guest: runs on the host with
# TARGET_DIR set, after packages and overlays are installed into it and
# before the rootfs is packed. Unit enablement is in the 70-kdev.preset file.
set -eu

: "${TARGET_DIR:?run by Buildroot}"

# CNI: plugins live in /opt/cni/bin (cni-plugins-bin). The shared
# containerd config (iso/overlay) names /usr/lib/cni, where Debian's package
# puts them, so link that path here.
mkdir -p "$TARGET_DIR/opt/cni/bin" "$TARGET_DIR/etc/cni/net.d"
if [ ! -e "$TARGET_DIR/usr/lib/cni" ]; then
	ln -s ../../opt/cni/bin "$TARGET_DIR/usr/lib/cni"
fi

# sudo refuses sudoers files that others can write; git only keeps 0644/0755.
if [ -d "$TARGET_DIR/etc/sudoers.d" ]; then
	find "$TARGET_DIR/etc/sudoers.d" -type f -exec chmod 0440 {} +
fi

# The SSH host key pair and authorized_keys come from the seed disk at boot:
# never bake keys into a shared image.
rm -f "$TARGET_DIR"/etc/ssh/ssh_host_*_key "$TARGET_DIR"/etc/ssh/ssh_host_*_key.pub

# iso/overlay/etc/ssh/sshd_config.d/kdev.conf must win over the defaults;
# OpenSSH's stock sshd_config may lack the Include, and the first value
# sshd reads for a keyword is the one it keeps.
sshd_config="$TARGET_DIR/etc/ssh/sshd_config"
if [ -f "$sshd_config" ] && ! grep -q '^Include /etc/ssh/sshd_config.d/' "$sshd_config"; then
	{
		echo 'Include /etc/ssh/sshd_config.d/*.conf'
		cat "$sshd_config"
	} >"$sshd_config.kdev"
	mv "$sshd_config.kdev" "$sshd_config"
fi

# Overlay scripts are POSIX sh run by systemd: they must be executable.
for d in usr/lib/kdev usr/libexec/kdev usr/local/bin; do
	if [ -d "$TARGET_DIR/$d" ]; then
		find "$TARGET_DIR/$d" -type f -exec chmod 0755 {} +
	fi
done
