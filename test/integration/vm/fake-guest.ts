// A fake guest small enough to build in a test: a multiboot image (QEMU's -kernel loads those
// directly) that writes a line to COM1 and halts. It stands in for the real kernel when the host
// has none to lend, and it cannot answer ACPI, which exercises the forced paths of stop().
import fs from 'node:fs';
import path from 'node:path';
import type { MachineSpec } from '../../../src/vm/driver.js';

const LOAD_ADDR = 0x100000;
const HEADER_SIZE = 32;

export function multibootImage(message: string): Buffer {
  const msg = Buffer.from(`${message}\0`, 'latin1');
  const codeLen = 21;
  const msgAddr = LOAD_ADDR + HEADER_SIZE + codeLen;
  const code = Buffer.from([
    0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
    0xbe, ...u32(msgAddr), // mov esi, msg
    0xac, // next: lodsb
    0x84, 0xc0, // test al, al
    0x74, 0x03, // jz halt
    0xee, // out dx, al
    0xeb, 0xf8, // jmp next
    0xfa, // halt: cli
    0xf4, // hlt
    0xeb, 0xfd, // jmp halt+1
  ]); // prettier-ignore
  if (code.length !== codeLen) throw new Error(`code is ${code.length} bytes`);
  const magic = 0x1badb002;
  const flags = 0x00010000; // the address fields below are valid (not an ELF)
  const header = Buffer.concat([
    Buffer.from(u32(magic)),
    Buffer.from(u32(flags)),
    Buffer.from(u32(-(magic + flags))),
    Buffer.from(u32(LOAD_ADDR)), // header_addr
    Buffer.from(u32(LOAD_ADDR)), // load_addr
    Buffer.from(u32(0)), // load_end_addr: the whole file
    Buffer.from(u32(0)), // bss_end_addr: none
    Buffer.from(u32(LOAD_ADDR + HEADER_SIZE)), // entry_addr
  ]);
  return Buffer.concat([header, code, msg]);
}

function u32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return [...b];
}

/** Writes kernel, initrd and cmdline for the fake guest into dir. */
export function writeFakeGuest(dir: string, message = 'KDEV_READY'): { kernel: string; initrd: string } {
  fs.mkdirSync(dir, { recursive: true });
  const kernel = path.join(dir, 'bzImage');
  const initrd = path.join(dir, 'initrd');
  fs.writeFileSync(kernel, multibootImage(`fake guest up\n${message}\n`));
  fs.writeFileSync(initrd, 'not really an initrd\n');
  return { kernel, initrd };
}

/**
 * The spec of a small QEMU machine booting the fake guest from `dir`, with the ssh and apiserver
 * forwards on the given host ports: what the forward, tunnel and addon tests start.
 */
export function fakeGuestSpec(
  dir: string,
  name: string,
  ports: { ssh: number; apiServer: number },
  network: 'user' | 'gvproxy' = 'user',
): MachineSpec {
  const { kernel, initrd } = writeFakeGuest(dir);
  return {
    name,
    cpus: 1,
    memoryMiB: 512,
    diskMiB: 1024,
    image: { kernel, initrd, cmdline: 'console=ttyS0', arch: 'x86_64' },
    mounts: [],
    forwards: [
      { name: 'ssh', guestPort: 22, hostPort: ports.ssh },
      { name: 'apiserver', guestPort: 8443, hostPort: ports.apiServer },
    ],
    options: { accel: 'tcg', network },
  };
}
