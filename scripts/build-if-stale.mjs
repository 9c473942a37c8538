// Builds functions/ and hosting/ only when their sources are newer than their
// last build, so `npm start` is quick after the first run.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (
      entry.name === 'node_modules' ||
      entry.name.startsWith('.svelte-kit') ||
      entry.name === 'build' ||
      entry.name === 'lib'
    )
      continue;
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

const targets = [
  {
    name: 'functions',
    sources: ['functions/src', 'functions/package.json', 'functions/tsconfig.json', 'tsconfig.json'],
    stamp: 'functions/lib/.build-stamp',
  },
  {
    name: 'hosting',
    sources: [
      'hosting/src',
      'hosting/package.json',
      'hosting/svelte.config.js',
      'hosting/vite.config.ts',
      'hosting/static',
    ],
    stamp: 'hosting/build/.build-stamp',
  },
];

for (const target of targets) {
  const stamp = join(root, target.stamp);
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const changed = Math.max(
    ...target.sources
      .map((s) => join(root, s))
      .filter(existsSync)
      .map((p) => (statSync(p).isDirectory() ? newest(p) : statSync(p).mtimeMs)),
  );
  if (built > changed) continue;
  process.stderr.write(`seraphim: building ${target.name}...\n`);
  execFileSync('npm', ['run', 'build', '-w', target.name, '--silent'], { cwd: root, stdio: 'inherit' });
  writeFileSync(stamp, new Date().toISOString());
}
