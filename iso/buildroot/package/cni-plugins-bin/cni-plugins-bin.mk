################################################################################
#
# cni-plugins-bin: prebuilt CNI reference plugins for the kdev guest
#
################################################################################

CNI_PLUGINS_BIN_VERSION = 1.9.1
CNI_PLUGINS_BIN_GOARCH = $(if $(BR2_aarch64),arm64,amd64)
CNI_PLUGINS_BIN_SITE = https://github.com/containernetworking/plugins/releases/download/v$(CNI_PLUGINS_BIN_VERSION)
CNI_PLUGINS_BIN_SOURCE = cni-plugins-linux-$(CNI_PLUGINS_BIN_GOARCH)-v$(CNI_PLUGINS_BIN_VERSION).tgz
CNI_PLUGINS_BIN_LICENSE = Apache-2.0
# Members are flat (./bridge, ...): nothing to strip.
CNI_PLUGINS_BIN_STRIP_COMPONENTS = 0

# Listed rather than globbed so that a plugin dropped upstream fails the
# build instead of silently vanishing from the guest.
CNI_PLUGINS_BIN_PLUGINS = \
	bandwidth bridge dhcp dummy firewall host-device host-local ipvlan \
	loopback macvlan portmap ptp sbr static tap tuning vlan vrf

define CNI_PLUGINS_BIN_INSTALL_TARGET_CMDS
	for p in $(CNI_PLUGINS_BIN_PLUGINS); do \
		$(INSTALL) -D -m 0755 $(@D)/$$p $(TARGET_DIR)/opt/cni/bin/$$p || exit 1; \
	done
endef

$(eval $(generic-package))
