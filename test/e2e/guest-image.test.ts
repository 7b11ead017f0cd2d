// The guest contract of the x86_64 image, on a real boot under QEMU TCG (see the suite's file).
import { guestImageSuite } from './helpers/guest-image-suite.js';

guestImageSuite('x86_64');
