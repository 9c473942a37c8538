// `npm start`: build what changed, then run the embedded runtime with demo data.
import { spawn } from 'node:child_process';

await import('./build-if-stale.mjs');
const child = spawn(
  process.execPath,
  ['--disable-warning=ExperimentalWarning', 'functions/lib/cli/main.js', 'serve', ...process.argv.slice(2)],
  {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: 'inherit',
  },
);
// The child handles Ctrl-C itself (graceful stop); we only wait for it.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
