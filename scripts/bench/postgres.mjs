/**
 * A PostgreSQL cluster private to one benchmark run (scripts/bench/dbos.mjs): initdb and pg_ctl in a
 * temp dir, TCP on 127.0.0.1 only, never the system service; stopped and removed after, also when
 * bench.mjs stops an overrunning benchmark. And CPU accounting that covers the server's processes.
 * This file is not a benchmark itself.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rate } from './harness.mjs';

export const PG_INSTALL = 'apt-get update && apt-get install -y postgresql';

/** Ends the run with what is missing and the command that installs it: a benchmark never skips silently. */
export function missing(what, install) {
  console.error(`\n${what} is missing: ${install}`);
  process.exit(1);
}

/** The newest installed server's bin folder (/usr/lib/postgresql/<major>/bin). */
function postgresBin() {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) missing('PostgreSQL (initdb, pg_ctl)', PG_INSTALL);
  return join(root, majors[0], 'bin');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * initdb + pg_ctl start in a temp dir, TCP on 127.0.0.1 only. PostgreSQL refuses to run as root, so
 * as root the server runs as the `postgres` user the Debian package creates.
 */
export async function startCluster() {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  let owner;
  if (asRoot) {
    try {
      owner = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { stdio: 'pipe' })));
    } catch {
      missing('The postgres user (made by the postgresql package)', PG_INSTALL);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-bench-pg-'));
  if (owner) chownSync(dir, owner[0], owner[1]);
  const run = (tool, args) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, tool), args, { stdio: 'pipe' });
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  const options = `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir}`;
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', options, 'start']);
  const stop = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // bench.mjs stops a benchmark that overruns with SIGTERM: the server must not outlive it.
  for (const signal of ['SIGTERM', 'SIGINT'])
    process.once(signal, () => {
      stop();
      process.exit(1);
    });
  const sql = (query, db = 'postgres') =>
    execFileSync(
      join(bin, 'psql'),
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-XAtqc', query],
      { encoding: 'utf8' },
    ).trim();
  return {
    version: sql('SHOW server_version').split(' ')[0],
    /** CPU ms the server has used so far: the postmaster and its children, live and exited. */
    cpuMs: () => serverCpuMs(Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])),
    url: `postgresql://postgres@127.0.0.1:${port}/seraphim_dbos_bench`,
    sql,
    /** Every session takes a reloaded setting it has not SET itself: DBOS's pool included. */
    setSynchronousCommit(value) {
      sql(`ALTER SYSTEM SET synchronous_commit = '${value}'`);
      sql('SELECT pg_reload_conf()');
    },
    stop,
  };
}

const TICKS_PER_SECOND = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in these on Linux

/** utime, stime, cutime, cstime of a process (/proc/<pid>/stat), in ticks; zeros if it is gone. */
function procTimes(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return { ppid: -1, own: 0, reaped: 0 };
  }
}

function serverCpuMs(postmaster) {
  const root = procTimes(postmaster);
  let ticks = root.own + root.reaped;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = procTimes(Number(entry));
    if (p.ppid === postmaster) ticks += p.own;
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** This process's CPU ms so far (user + system). */
function ownCpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Runs `fn`, returning its steps/s and the CPU ms per step of this process and of PostgreSQL. */
export async function measured(steps, cluster, fn) {
  const cpu0 = ownCpuMs();
  const pg0 = cluster.cpuMs();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  return {
    stepsPerSecond: rate(steps, ms),
    cpuPerStep: (ownCpuMs() - cpu0 + (cluster.cpuMs() - pg0)) / steps,
    pgCpuPerStep: (cluster.cpuMs() - pg0) / steps,
  };
}
