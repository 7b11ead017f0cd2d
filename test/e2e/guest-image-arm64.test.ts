// The guest contract of the arm64 image, built on this host through qemu-user and booted with
// qemu-system-aarch64 -M virt the way a vfkit machine boots it (Image, initrd, cmdline), under TCG.
import { guestImageSuite } from './helpers/guest-image-suite.js';

guestImageSuite('aarch64');
