# Pull in every package recipe of this external tree.
include $(sort $(wildcard $(BR2_EXTERNAL_KDEV_PATH)/package/*/*.mk))
