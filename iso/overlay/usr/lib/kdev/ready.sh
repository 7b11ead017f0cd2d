#!/bin/sh
# Prints the readiness line the host waits for on the serial console, once
# sshd and containerd are up (this unit is ordered after both).
set -u
ssh_up=no
for u in ssh.service sshd.service; do
  systemctl is-active --quiet "$u" && ssh_up=yes
done
if [ "$ssh_up" = yes ] && systemctl is-active --quiet containerd.service; then
  echo KDEV_READY >/dev/console
else
  echo "kdev: not ready (sshd up: $ssh_up, containerd: $(systemctl is-active containerd.service))" >/dev/console
  exit 1
fi
