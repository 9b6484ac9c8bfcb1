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

/** What the component's manifest lets it see: nothing, or the pack's assets read-only at `/assets`. */
export interface WasiGrants {
  assets: AssetFiles | null;
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
  private offset = 0;
  constructor(private readonly data: Uint8Array | null = null) {}
  read(len: bigint): Uint8Array {
    if (!this.data || this.offset >= this.data.length) throw { tag: 'closed' };
    const chunk = this.data.subarray(this.offset, this.offset + Number(len));
    this.offset += chunk.length;
    return chunk.slice();
  }
  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }
  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }
  blockingSkip(len: bigint): bigint {
    return this.skip(len);
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

/** Read-only files, keyed by normalised absolute path (e.g. `/assets/cards/a.json`). */
export type AssetFiles = Map<string, Uint8Array>;

interface FsNode {
  files: AssetFiles;
  path: string;
  dir: boolean;
}

function joinPath(base: string, rel: string): string | null {
  const parts = rel.startsWith('/') ? [] : base.split('/').filter(Boolean);
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      // A guest may not walk above the mount it was given.
      if (parts.length <= 1) return null;
      parts.pop();
    } else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

function isDir(files: AssetFiles, path: string): boolean {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  for (const k of files.keys()) if (k.startsWith(prefix)) return true;
  return false;
}

const READ_ONLY = 'read-only';

class Descriptor {
  constructor(private readonly node: FsNode | null = null) {}
  private need(): FsNode {
    if (!this.node) throw 'bad-descriptor';
    return this.node;
  }
  private bytes(): Uint8Array {
    const n = this.need();
    if (n.dir) throw 'is-directory';
    return n.files.get(n.path) ?? new Uint8Array();
  }
  getType(): string {
    return this.need().dir ? 'directory' : 'regular-file';
  }
  getFlags(): Record<string, boolean> {
    return { read: true };
  }
  openAt(_pathFlags: unknown, path: string, openFlags: Record<string, boolean>, flags: Record<string, boolean>): Descriptor {
    const n = this.need();
    if (!n.dir) throw 'not-directory';
    if (openFlags.create || openFlags.truncate || openFlags.exclusive || flags.write || flags.mutateDirectory) throw READ_ONLY;
    const full = joinPath(n.path, path);
    if (!full?.startsWith(n.path.split('/').slice(0, 2).join('/'))) throw 'not-permitted';
    if (n.files.has(full)) {
      if (openFlags.directory) throw 'not-directory';
      return new Descriptor({ files: n.files, path: full, dir: false });
    }
    if (isDir(n.files, full)) return new Descriptor({ files: n.files, path: full, dir: true });
    throw 'no-entry';
  }
  read(length: bigint, offset: bigint): [Uint8Array, boolean] {
    const data = this.bytes();
    const start = Number(offset);
    const chunk = data.slice(start, start + Number(length));
    return [chunk, start + chunk.length >= data.length];
  }
  readViaStream(offset: bigint): InputStream {
    return new InputStream(this.bytes().subarray(Number(offset)));
  }
  stat(): Record<string, unknown> {
    const n = this.need();
    return {
      type: n.dir ? 'directory' : 'regular-file',
      linkCount: 1n,
      size: n.dir ? 0n : BigInt(this.bytes().length),
      dataAccessTimestamp: undefined,
      dataModificationTimestamp: undefined,
      statusChangeTimestamp: undefined,
    };
  }
  statAt(pathFlags: unknown, path: string): Record<string, unknown> {
    return this.openAt(pathFlags, path, {}, { read: true }).stat();
  }
  readDirectory(): DirectoryEntryStream {
    const n = this.need();
    if (!n.dir) throw 'not-directory';
    const prefix = `${n.path.replace(/\/$/, '')}/`;
    const names = new Map<string, string>();
    for (const k of n.files.keys()) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      const slash = rest.indexOf('/');
      names.set(slash < 0 ? rest : rest.slice(0, slash), slash < 0 ? 'regular-file' : 'directory');
    }
    return new DirectoryEntryStream([...names].map(([name, type]) => ({ name, type })));
  }
  metadataHash(): { lower: bigint; upper: bigint } {
    let h = 0n;
    for (const c of this.need().path) h = (h * 131n + BigInt(c.charCodeAt(0))) & 0xffffffffffffffffn;
    return { lower: h, upper: 0n };
  }
  metadataHashAt(pathFlags: unknown, path: string): { lower: bigint; upper: bigint } {
    return this.openAt(pathFlags, path, {}, { read: true }).metadataHash();
  }
  isSameObject(other: Descriptor): boolean {
    return this.node?.path === other.node?.path;
  }
  writeViaStream(): never {
    throw READ_ONLY;
  }
  appendViaStream(): never {
    throw READ_ONLY;
  }
  write(): never {
    throw READ_ONLY;
  }
  setSize(): never {
    throw READ_ONLY;
  }
  setTimes(): never {
    throw READ_ONLY;
  }
  setTimesAt(): never {
    throw READ_ONLY;
  }
  createDirectoryAt(): never {
    throw READ_ONLY;
  }
  removeDirectoryAt(): never {
    throw READ_ONLY;
  }
  unlinkFileAt(): never {
    throw READ_ONLY;
  }
  renameAt(): never {
    throw READ_ONLY;
  }
  linkAt(): never {
    throw READ_ONLY;
  }
  symlinkAt(): never {
    throw READ_ONLY;
  }
  readlinkAt(): never {
    throw 'invalid';
  }
  sync(): void {}
  syncData(): void {}
  advise(): void {}
}

class DirectoryEntryStream {
  constructor(private readonly entries: { name: string; type: string }[] = []) {}
  readDirectoryEntry(): { name: string; type: string } | undefined {
    return this.entries.shift();
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
export function wasiImports(ctx: () => WasiContext, grants: WasiGrants): Record<string, Record<string, unknown>> {
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
      // Errors thrown by Descriptor methods are plain error-code strings, as jco expects.
    },
    'wasi:filesystem/preopens': {
      getDirectories: () => (grants.assets ? [[new Descriptor({ files: grants.assets, path: '/assets', dir: true }), '/assets']] : []),
    },
  };
}
