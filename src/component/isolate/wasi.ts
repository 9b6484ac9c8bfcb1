/**
 * WASI preview 2 inside the component isolate. Deliberately small: clocks, random, stdio as
 * structured log lines, an allow-listed environment, exit as a node error and no filesystem
 * preopens. Every `wasi:*@0.2.x` import resolves here whatever its patch version.
 */

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

/** Thrown by `wasi:cli/exit`; the runtime turns it into a node error. */
export class WasiExit extends Error {
  constructor(readonly ok: boolean) {
    super(`component called wasi:cli/exit with ${ok ? 'success' : 'failure'}`);
  }
}

export interface WasiContext {
  environment: [string, string][];
  logs: LogLine[];
}

class WasiIoError {
  constructor(private readonly message: string) {}
  toDebugString(): string {
    return this.message;
  }
}

class Pollable {
  ready(): boolean {
    return true;
  }
  block(): void {}
}

class InputStream {
  read(_len: bigint): Uint8Array {
    throw { tag: 'closed' };
  }
  blockingRead(_len: bigint): Uint8Array {
    throw { tag: 'closed' };
  }
  skip(_len: bigint): bigint {
    throw { tag: 'closed' };
  }
  blockingSkip(_len: bigint): bigint {
    throw { tag: 'closed' };
  }
  subscribe(): Pollable {
    return new Pollable();
  }
}

const decoder = new TextDecoder();

class OutputStream {
  private pending = '';
  constructor(
    private readonly stream: 'stdout' | 'stderr',
    private readonly ctx: () => WasiContext,
  ) {}
  checkWrite(): bigint {
    return 1n << 20n;
  }
  write(bytes: Uint8Array): void {
    this.pending += decoder.decode(bytes, { stream: true });
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      this.emit(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    // Bound a component that never writes a newline.
    if (this.pending.length > 8192) {
      this.emit(this.pending);
      this.pending = '';
    }
  }
  blockingWriteAndFlush(bytes: Uint8Array): void {
    this.write(bytes);
  }
  flush(): void {}
  blockingFlush(): void {
    if (this.pending) {
      this.emit(this.pending);
      this.pending = '';
    }
  }
  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(Number(len)));
  }
  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }
  splice(): bigint {
    throw { tag: 'closed' };
  }
  blockingSplice(): bigint {
    throw { tag: 'closed' };
  }
  subscribe(): Pollable {
    return new Pollable();
  }
  private emit(line: string): void {
    const logs = this.ctx().logs;
    if (logs.length < 1000) logs.push({ stream: this.stream, line });
  }
}

class Descriptor {
  private fail(): never {
    throw 'not-permitted';
  }
  readViaStream(): never {
    return this.fail();
  }
  writeViaStream(): never {
    return this.fail();
  }
  appendViaStream(): never {
    return this.fail();
  }
  getType(): string {
    return 'directory';
  }
  stat(): never {
    return this.fail();
  }
  statAt(): never {
    return this.fail();
  }
  openAt(): never {
    return this.fail();
  }
  readDirectory(): never {
    return this.fail();
  }
  metadataHash(): never {
    return this.fail();
  }
  metadataHashAt(): never {
    return this.fail();
  }
}

class DirectoryEntryStream {
  readDirectoryEntry(): undefined {
    return undefined;
  }
}

class TerminalInput {}
class TerminalOutput {}

function randomBytes(len: bigint): Uint8Array {
  const out = new Uint8Array(Number(len));
  for (let i = 0; i < out.length; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + 65536)));
  return out;
}

function randomU64(): bigint {
  const b = randomBytes(8n);
  return new DataView(b.buffer).getBigUint64(0, true);
}

/** Implementations keyed by `namespace:package/interface` (no version). */
export function wasiImports(ctx: () => WasiContext): Record<string, Record<string, unknown>> {
  const stdout = new OutputStream('stdout', ctx);
  const stderr = new OutputStream('stderr', ctx);
  const stdin = new InputStream();
  const start = performance.now();
  return {
    'wasi:cli/environment': {
      getEnvironment: () => ctx().environment,
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    'wasi:cli/exit': {
      exit: (status: { tag: string }) => {
        throw new WasiExit(status.tag === 'ok');
      },
      exitWithCode: (code: number) => {
        throw new WasiExit(code === 0);
      },
    },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:clocks/wall-clock': {
      now: () => {
        const ms = Date.now();
        return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
    },
    'wasi:clocks/monotonic-clock': {
      now: () => BigInt(Math.round((performance.now() - start) * 1e6)),
      resolution: () => 1_000_000n,
      subscribeInstant: () => new Pollable(),
      subscribeDuration: () => new Pollable(),
    },
    'wasi:io/error': { Error: WasiIoError },
    'wasi:io/poll': { Pollable, poll: (list: Pollable[]) => new Uint32Array(list.map((_p, i) => i)) },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
    'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
    'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
    'wasi:filesystem/types': {
      Descriptor,
      DirectoryEntryStream,
      filesystemErrorCode: () => undefined,
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
  };
}
