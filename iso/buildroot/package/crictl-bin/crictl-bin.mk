################################################################################
#
# crictl-bin: prebuilt crictl release for the kdev guest
#
################################################################################

CRICTL_BIN_VERSION = 1.35.0
CRICTL_BIN_GOARCH = $(if $(BR2_aarch64),arm64,amd64)
CRICTL_BIN_SITE = https://github.com/kubernetes-sigs/cri-tools/releases/download/v$(CRICTL_BIN_VERSION)
CRICTL_BIN_SOURCE = crictl-v$(CRICTL_BIN_VERSION)-linux-$(CRICTL_BIN_GOARCH).tar.gz
CRICTL_BIN_LICENSE = Apache-2.0
# The tarball holds the single file "crictl" at its top level.
CRICTL_BIN_STRIP_COMPONENTS = 0

define CRICTL_BIN_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/crictl $(TARGET_DIR)/usr/bin/crictl
endef

$(eval $(generic-package))
