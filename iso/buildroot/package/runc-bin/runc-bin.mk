################################################################################
#
# runc-bin: prebuilt static runc release for the kdev guest
#
################################################################################

RUNC_BIN_VERSION = 1.4.3
RUNC_BIN_GOARCH = $(if $(BR2_aarch64),arm64,amd64)
RUNC_BIN_SITE = https://github.com/opencontainers/runc/releases/download/v$(RUNC_BIN_VERSION)
# The release asset is the bare binary, so its name does not carry the
# version: the .hash file pins it.
RUNC_BIN_SOURCE = runc.$(RUNC_BIN_GOARCH)
RUNC_BIN_LICENSE = Apache-2.0

# Not an archive: copy it instead of letting Buildroot try to untar it.
define RUNC_BIN_EXTRACT_CMDS
	cp $(RUNC_BIN_DL_DIR)/$(RUNC_BIN_SOURCE) $(@D)/runc
endef

define RUNC_BIN_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/runc $(TARGET_DIR)/usr/bin/runc
endef

$(eval $(generic-package))
