// A small QMP (QEMU Machine Protocol) client: newline-delimited JSON over a unix socket. QEMU
// greets, we negotiate capabilities, then commands are answered in order and tagged with our id;
// asynchronous events (SHUTDOWN, POWERDOWN, …) arrive in between.
import net from 'node:net';
import { KdevError } from '../../lib/errors.js';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpConnectOptions {
  /** For connecting and the greeting together (ms). */
  timeoutMs?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  command: string;
}

/** A QMP error reply ({"error": {"class", "desc"}}), or the connection failing under a command. */
export class QmpError extends Error {
  constructor(
    readonly errorClass: string,
    message: string,
  ) {
    super(message);
    this.name = 'QmpError';
  }
}

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private closed = false;
  private greeted?: (v: unknown) => void;
  private closeWaiters: Array<() => void> = [];

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', () => undefined);
    sock.on('close', () => this.onClose());
  }

  static async connect(socketPath: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const sock = net.connect({ path: socketPath });
    const client = new QmpClient(sock);
    const timer = setTimeout(() => sock.destroy(new Error('timeout')), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        client.greeted = () => resolve();
        sock.once('error', (err) => reject(err));
        sock.once('close', () => reject(new Error('connection closed before the greeting')));
      });
    } catch (err) {
      sock.destroy();
      const msg = (err as Error).message;
      throw new KdevError(
        'VM_ERROR',
        `QMP ${socketPath}: ${msg === 'timeout' ? `no greeting in ${timeoutMs} ms` : msg}`,
        {
          cause: err,
        },
      );
    } finally {
      clearTimeout(timer);
    }
    try {
      await client.execute('qmp_capabilities', undefined, { timeoutMs });
    } catch (err) {
      client.close();
      throw new KdevError('VM_ERROR', `QMP ${socketPath}: ${(err as Error).message}`, { cause: err });
    }
    return client;
  }

  /** Runs a command and resolves with its "return" value; QMP errors reject with QmpError. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    opts: { timeoutMs?: number } = {},
  ): Promise<T> {
    if (this.closed) return Promise.reject(new QmpError('Disconnected', `QMP ${command}: connection closed`));
    const id = `kdev-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpError('Timeout', `QMP ${command}: no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, command });
      const msg = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.sock.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first event named `name` (or rejects after timeoutMs, or when the connection closes). */
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const off = this.onEvent((e) => {
        if (e.event !== name) return;
        cleanup();
        resolve(e);
      });
      const onClosed = () => {
        cleanup();
        reject(new QmpError('Disconnected', `QMP closed while waiting for ${name}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new QmpError('Timeout', `QMP: no ${name} event in ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        off();
        clearTimeout(timer);
        this.closeWaiters = this.closeWaiters.filter((w) => w !== onClosed);
      };
      if (this.closed) onClosed();
      else this.closeWaiters.push(onClosed);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves when QEMU closes the connection (for example after `quit`). */
  waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return; // QEMU only writes JSON here; ignore anything else rather than wedge.
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if ('QMP' in m) {
      this.greeted?.(m.QMP);
      this.greeted = undefined;
      return;
    }
    if (typeof m.event === 'string') {
      for (const l of [...this.listeners]) l(m as unknown as QmpEvent);
      return;
    }
    const id = typeof m.id === 'string' ? m.id : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in m) {
      const e = (m.error ?? {}) as { class?: unknown; desc?: unknown };
      p.reject(
        new QmpError(String(e.class ?? 'GenericError'), `QMP ${p.command}: ${String(e.desc ?? 'failed')}`),
      );
    } else {
      p.resolve(m.return);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new QmpError('Disconnected', `QMP ${p.command}: connection closed`));
      this.pending.delete(id);
    }
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
  }
}

/** One-shot helper: connect, run one command, disconnect. */
export async function qmpExecute<T = unknown>(
  socketPath: string,
  command: string,
  args?: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<T> {
  const c = await QmpClient.connect(socketPath, { timeoutMs });
  try {
    return await c.execute<T>(command, args, { timeoutMs });
  } finally {
    c.close();
  }
}
