################################################################################
#
# containerd-bin: prebuilt containerd release for the kdev guest
#
################################################################################

CONTAINERD_BIN_VERSION = 2.3.4
CONTAINERD_BIN_GOARCH = $(if $(BR2_aarch64),arm64,amd64)
CONTAINERD_BIN_SITE = https://github.com/containerd/containerd/releases/download/v$(CONTAINERD_BIN_VERSION)
CONTAINERD_BIN_SOURCE = containerd-$(CONTAINERD_BIN_VERSION)-linux-$(CONTAINERD_BIN_GOARCH).tar.gz
CONTAINERD_BIN_LICENSE = Apache-2.0
# The tarball holds bin/<tool>; keep that level so the install paths are explicit.
CONTAINERD_BIN_STRIP_COMPONENTS = 0

CONTAINERD_BIN_TOOLS = containerd containerd-shim-runc-v2 ctr

define CONTAINERD_BIN_INSTALL_TARGET_CMDS
	for t in $(CONTAINERD_BIN_TOOLS); do \
		$(INSTALL) -D -m 0755 $(@D)/bin/$$t $(TARGET_DIR)/usr/bin/$$t || exit 1; \
	done
endef

# The Debian recipe gets this unit from Debian's containerd package; here we
# ship our own. A unit of the same name in iso/overlay/etc/systemd/system wins.
define CONTAINERD_BIN_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(CONTAINERD_BIN_PKGDIR)/containerd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/containerd.service
endef

$(eval $(generic-package))
