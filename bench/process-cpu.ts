/**
 * Where the machine's time goes during an end-to-end benchmark: per kind of process (workerd
 * running the Worker, wrangler's proxy workerd, wrangler's Node process, the benchmark client),
 * the CPU time used and the time spent runnable but waiting for a CPU, from the scheduler's
 * per-thread counters (Linux /proc/<pid>/task/<tid>/schedstat: ns on CPU, ns waiting on a run
 * queue). On a shared machine the wait says how much of a latency is other people's load; the
 * busiest thread says whether a single-threaded process was saturated. Empty where /proc is absent.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessTimes {
  /** Seconds on a CPU, all threads. */
  cpu: number;
  /** Seconds runnable but waiting for a CPU, all threads. */
  wait: number;
  /** Seconds on a CPU or waiting for one, per thread (`pid/tid`). */
  threads: Map<string, number>;
}

/** Times by process kind. */
export type CpuSample = Map<string, ProcessTimes>;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function list(path: string): string[] {
  try {
    return readdirSync(path).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
}

function add(sample: CpuSample, label: string, pid: string): void {
  const times = sample.get(label) ?? { cpu: 0, wait: 0, threads: new Map<string, number>() };
  for (const tid of list(`/proc/${pid}/task`)) {
    const fields = read(`/proc/${pid}/task/${tid}/schedstat`)?.trim().split(' ');
    if (fields === undefined) continue;
    const cpu = Number(fields[0]) / 1e9;
    const wait = Number(fields[1]) / 1e9;
    times.cpu += cpu;
    times.wait += wait;
    times.threads.set(`${pid}/${tid}`, cpu + wait);
  }
  sample.set(label, times);
}

/** Every live process of group `pgid` (labelled from its command line) and this process. */
export function sampleGroup(pgid: number, label: (cmdline: string) => string, ownLabel: string): CpuSample {
  const sample: CpuSample = new Map();
  for (const pid of list('/proc')) {
    const stat = read(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces) start at ") "; the group id is the third.
    if (stat === undefined || Number(stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[2]) !== pgid) continue;
    add(sample, label((read(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ')), pid);
  }
  add(sample, ownLabel, String(process.pid));
  return sample;
}

/** What was used between two samples (threads that ended in between are left out). */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuSample {
  const out: CpuSample = new Map();
  for (const [label, a] of after) {
    const b = before.get(label);
    const threads = new Map<string, number>();
    for (const [tid, t] of a.threads) threads.set(tid, t - (b?.threads.get(tid) ?? 0));
    out.set(label, { cpu: a.cpu - (b?.cpu ?? 0), wait: a.wait - (b?.wait ?? 0), threads });
  }
  return out;
}

/** Adds `delta` into `total` (several measured rounds). */
export function addInto(total: CpuSample, delta: CpuSample): void {
  for (const [label, d] of delta) {
    const t = total.get(label) ?? { cpu: 0, wait: 0, threads: new Map<string, number>() };
    t.cpu += d.cpu;
    t.wait += d.wait;
    for (const [tid, x] of d.threads) t.threads.set(tid, (t.threads.get(tid) ?? 0) + x);
    total.set(label, t);
  }
}

/**
 * One line per process kind: cores used, cores' worth of waiting for a CPU, how busy its busiest
 * thread was (on a CPU or waiting for one, as a share of the wall time) and CPU ms per operation.
 */
export function printCpu(title: string, used: CpuSample, wallSeconds: number, ops?: number): void {
  if (used.size === 0) return;
  console.log(`\n${title} (${wallSeconds.toFixed(1)} s wall${ops === undefined ? '' : `, ${ops} operations`})`);
  console.log(
    `  ${'process'.padEnd(28)}${'on CPU'.padStart(8)}${'waiting'.padStart(9)}${'busiest thread'.padStart(16)}${'CPU ms/op'.padStart(11)}`,
  );
  const perOp = (seconds: number) => (ops === undefined || ops === 0 ? '' : ((seconds * 1000) / ops).toFixed(1));
  let cpu = 0;
  let wait = 0;
  for (const [label, t] of [...used].sort((a, b) => b[1].cpu - a[1].cpu)) {
    cpu += t.cpu;
    wait += t.wait;
    const busiest = Math.max(0, ...t.threads.values()) / wallSeconds;
    console.log(
      `  ${label.padEnd(28)}${(t.cpu / wallSeconds).toFixed(2).padStart(8)}${(t.wait / wallSeconds).toFixed(2).padStart(9)}${`${(busiest * 100).toFixed(0)}%`.padStart(16)}${perOp(t.cpu).padStart(11)}`,
    );
  }
  console.log(
    `  ${'all of the above'.padEnd(28)}${(cpu / wallSeconds).toFixed(2).padStart(8)}${(wait / wallSeconds).toFixed(2).padStart(9)}${''.padStart(16)}${perOp(cpu).padStart(11)}`,
  );
  console.log('  (cores: seconds per wall second; waiting: runnable but not scheduled, i.e. the machine was busy)');
}
