#!/usr/bin/env -S node --disable-warning=ExperimentalWarning
/**
 * The `seraphim` CLI. It talks to a running runtime's API (`status`, and the
 * commands later capabilities add) or runs one (`serve`).
 *
 * Exit codes: 0 ok, 1 the answer is bad news (unhealthy), 2 usage error,
 * 3 runtime unreachable, 4 the API returned an error.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ApiError } from '../client/index.js';
import { SERAPHIM_VERSION } from '../platform/config.js';
import { errorMessage, SeraphimError } from '../platform/errors.js';
import { CliError, cliFailure, defaultBaseUrl, EXIT, useDataDir } from './client.js';
import { EXECUTIONS_USAGE } from './executions.js';
import { POOL_USAGE } from './pool.js';
import { TEMPLATES_USAGE, USE_CASES_USAGE, type UseCasesOptions } from './use-cases.js';
import { USERS_USAGE } from './users.js';

/** An option as parseArgs reads it, with the line `--help` shows for it. */
type OptionSpec = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>[string] & {
  description?: string;
};

interface Command {
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Whether the command takes positional arguments (subcommands, ids). */
  positionals?: boolean;
  run(
    values: Record<string, string | boolean | string[] | undefined>,
    out: (line: string) => void,
    positionals: string[],
  ): Promise<number>;
}

const common = {
  url: { type: 'string', description: 'API base URL (default $SERAPHIM_URL or http://127.0.0.1:4400)' },
  'data-dir': { type: 'string', description: "the local runtime's data folder, for its cli-token" },
  json: { type: 'boolean', description: 'machine-readable output' },
  help: { type: 'boolean', short: 'h', description: 'this help' },
} as const;

const commands: Record<string, Command> = {
  status: {
    summary: 'Health of a running runtime and its task queues',
    usage: 'seraphim status [--url URL] [--json]',
    options: common,
    async run(values, out) {
      const { status } = await import('./status.js');
      return status(
        { url: typeof values.url === 'string' ? values.url : defaultBaseUrl(), json: values.json === true },
        out,
      );
    },
  },
  executions: {
    summary: 'List, inspect, control and debug executions',
    usage: `\n${EXECUTIONS_USAGE}`,
    positionals: true,
    options: {
      ...common,
      workspace: { type: 'string', description: 'the workspace (default demo)' },
      'use-case': { type: 'string', description: 'list: only executions of this use case' },
      status: { type: 'string', description: 'list: only executions in this status' },
      from: { type: 'string', description: 'diff, fork: the checkpoint to start from (0 is the start)' },
      to: { type: 'string', description: 'diff: the checkpoint to compare with' },
      input: { type: 'string', description: 'run, fork: the input, as JSON' },
      comment: { type: 'string', description: 'approve, reject: a note kept with the decision' },
      limit: { type: 'string', description: 'list, checkpoints: how many to show' },
      at: { type: 'string', description: 'reschedule: when, as ISO 8601 or ms since epoch' },
    },
    async run(values, out, positionals) {
      const { executions } = await import('./executions.js');
      const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
      return executions(
        positionals,
        {
          url: str('url') ?? defaultBaseUrl(),
          workspace: str('workspace') ?? 'demo',
          json: values.json === true,
          useCase: str('use-case'),
          status: str('status'),
          from: str('from'),
          to: str('to'),
          input: str('input'),
          comment: str('comment'),
          limit: str('limit'),
          at: str('at'),
        },
        out,
      );
    },
  },
  'use-cases': {
    summary: 'Use cases: create one from a template, list, show, upgrade, archive, export',
    usage: `\n${USE_CASES_USAGE}`,
    positionals: true,
    options: {
      ...common,
      workspace: { type: 'string', description: 'the workspace (default demo)' },
      template: { type: 'string', description: 'create: the template to make it from' },
      version: {
        type: 'string',
        description: 'create, upgrade: the template version; show: the use case version',
      },
      set: {
        type: 'string',
        multiple: true,
        description: 'create, upgrade: a variable, as name=value (repeat it)',
      },
      name: { type: 'string', description: "create: the use case's name (default the template's)" },
      'dry-run': { type: 'boolean', description: 'create, upgrade: check and show, save nothing' },
      'allow-major': { type: 'boolean', description: 'upgrade: across a major template version' },
      archived: { type: 'boolean', description: 'list: archived ones too' },
      output: { type: 'string', short: 'o', description: 'export: write to this file' },
    },
    run: (values, out, positionals) =>
      import('./use-cases.js').then((m) => m.useCases(positionals, useCaseOptions(values), out)),
  },
  templates: {
    summary: 'The template library: list, show, diff versions, publish, deprecate, schema',
    usage: `\n${TEMPLATES_USAGE}`,
    positionals: true,
    options: {
      ...common,
      workspace: { type: 'string', description: 'the workspace (default demo)' },
      q: { type: 'string', description: 'list: words to find' },
      vertical: { type: 'string', description: 'list: only this vertical' },
      tag: { type: 'string', description: 'list: only with this tag' },
      version: { type: 'string', description: 'show, deprecate: the version' },
      from: { type: 'string', description: 'diff: the older version' },
      to: { type: 'string', description: 'diff: the newer version' },
      file: { type: 'string', short: 'f', description: 'publish: the template file (YAML or JSON)' },
      message: { type: 'string', description: 'deprecate: what the use cases pinning it are told' },
      'dry-run': { type: 'boolean', description: 'publish: check only' },
    },
    run: (values, out, positionals) =>
      import('./use-cases.js').then((m) => m.templates(positionals, useCaseOptions(values), out)),
  },
  apply: {
    summary: 'Make a workspace match template and use case files: the plan first, then the changes',
    usage: 'seraphim apply -f FILE|FOLDER [-f …] [--dry-run] [--workspace W] [--url URL] [--json]',
    options: {
      ...common,
      workspace: { type: 'string', description: 'the workspace (default demo)' },
      file: {
        type: 'string',
        short: 'f',
        multiple: true,
        description: 'a YAML or JSON file, or a folder of them',
      },
      'dry-run': { type: 'boolean', description: 'print the plan and change nothing' },
    },
    async run(values, out) {
      const { apply } = await import('./apply.js');
      const files = Array.isArray(values.file) ? values.file : [];
      return apply(
        files,
        {
          url: typeof values.url === 'string' ? values.url : defaultBaseUrl(),
          workspace: typeof values.workspace === 'string' ? values.workspace : 'demo',
          json: values.json === true,
          dryRun: values['dry-run'] === true,
        },
        out,
      );
    },
  },
  pool: {
    summary: 'Resource pool: utilisation, auto-scaling decisions, workspace shares and caps',
    usage: `\n${POOL_USAGE}`,
    positionals: true,
    options: {
      ...common,
      limit: { type: 'string', description: 'decisions: how many to show' },
      weight: { type: 'string', description: "settings: the workspace's weight under contention" },
      budget: { type: 'string', description: 'settings: executions accepted and not finished' },
      cap: { type: 'string', description: "settings: a cap on running steps, or 'none'" },
    },
    async run(values, out, positionals) {
      const { pool } = await import('./pool.js');
      const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
      return pool(
        positionals,
        {
          url: str('url') ?? defaultBaseUrl(),
          json: values.json === true,
          limit: str('limit'),
          weight: str('weight'),
          budget: str('budget'),
          cap: str('cap'),
        },
        out,
      );
    },
  },
  users: {
    summary: 'People who can sign in: add (prints their invitation link), list, remove',
    usage: `\n${USERS_USAGE}`,
    positionals: true,
    options: {
      ...common,
      workspace: { type: 'string', description: 'add: the workspace to invite them to' },
      role: { type: 'string', description: 'add: viewer, operator, admin or owner' },
    },
    async run(values, out, positionals) {
      const { users } = await import('./users.js');
      const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
      return users(
        positionals,
        {
          url: str('url') ?? defaultBaseUrl(),
          json: values.json === true,
          workspace: str('workspace'),
          role: str('role'),
        },
        out,
      );
    },
  },
  serve: {
    summary: 'Run the embedded runtime and Mission Control on this machine',
    usage: 'seraphim serve [--port N] [--host H] [--data-dir DIR] [--no-demo]',
    options: {
      port: {
        type: 'string',
        description: 'the HTTP port (default $SERAPHIM_PORT or 4400; 0 picks a free one)',
      },
      host: {
        type: 'string',
        description: 'the address to listen on (default 127.0.0.1; others require sign-in)',
      },
      'data-dir': {
        type: 'string',
        description: 'where the SQLite file, blobs and lock live (default .data)',
      },
      'no-demo': { type: 'boolean', description: 'do not seed the demo workspace' },
      help: { type: 'boolean', short: 'h', description: 'this help' },
    },
    async run(values) {
      const port = values.port === undefined ? undefined : Number(values.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
        throw new CliError(`--port must be a port number, got "${String(values.port)}"`, EXIT.usage);
      }
      const { serve } = await import('./serve.js');
      await serve({
        ...(port === undefined ? {} : { port }),
        ...(typeof values.host === 'string' ? { host: values.host } : {}),
        ...(typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {}),
        ...(values['no-demo'] === true ? { demo: false } : {}),
      });
      return -1; // keeps running until a signal
    },
  },
};

function useCaseOptions(values: Record<string, string | boolean | string[] | undefined>): UseCasesOptions {
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  return {
    url: str('url') ?? defaultBaseUrl(),
    workspace: str('workspace') ?? 'demo',
    json: values.json === true,
    template: str('template'),
    version: str('version'),
    set: Array.isArray(values.set) ? values.set : [],
    name: str('name'),
    dryRun: values['dry-run'] === true,
    file: str('file'),
    output: str('output'),
    archived: values.archived === true,
    q: str('q'),
    vertical: str('vertical'),
    tag: str('tag'),
    from: str('from'),
    to: str('to'),
    message: str('message'),
    allowMajor: values['allow-major'] === true,
  };
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return [
    `seraphim ${SERAPHIM_VERSION}: orchestration platform for AI use cases`,
    '',
    'Usage: seraphim <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `seraphim <command> --help` for a command's options.",
    'Exit codes: 0 ok, 1 unhealthy, 2 usage error, 3 runtime unreachable, 4 API error.',
  ].join('\n');
}

export async function main(
  argv: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(help());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    out(SERAPHIM_VERSION);
    return EXIT.ok;
  }
  const command = commands[name];
  if (!command) {
    err(`Unknown command "${name}".\n\n${help()}`);
    return EXIT.usage;
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: command.options,
      allowPositionals: command.positionals === true,
      strict: true,
    });
    values = parsed.values as Record<string, string | boolean | string[] | undefined>;
    positionals = parsed.positionals;
  } catch (error) {
    err(`${errorMessage(error)}\nUsage: ${command.usage}`);
    return EXIT.usage;
  }
  if (values.help === true) {
    out(commandHelp(command, positionals[0]));
    return EXIT.ok;
  }
  // Under --json, a failure is JSON too, on stderr: scripts parse both streams.
  const fail = (message: string, exitCode: number, code?: string): number => {
    err(
      values.json === true
        ? JSON.stringify({ error: { message, exitCode, ...(code === undefined ? {} : { code }) } })
        : `seraphim: ${message}`,
    );
    return exitCode;
  };
  try {
    if (typeof values.url === 'string') checkUrl(values.url);
    if (name !== 'serve' && typeof values['data-dir'] === 'string') useDataDir(values['data-dir']);
    return await command.run(values, out, positionals);
  } catch (error) {
    if (error instanceof CliError || error instanceof ApiError) {
      const failure = error instanceof ApiError ? cliFailure(error) : error;
      return fail(failure.message, failure.exitCode, error instanceof ApiError ? error.code : undefined);
    }
    if (error instanceof SeraphimError) {
      return fail(error.message, error.status < 500 ? EXIT.usage : EXIT.unreachable, error.code);
    }
    return fail(errorMessage(error), 1);
  }
}

/** `--url` must be an http(s) URL: anything else is a usage error, not an unreachable runtime. */
function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new CliError(
      `--url must be an http(s) URL such as http://127.0.0.1:4400; got "${url}"`,
      EXIT.usage,
    );
  }
}

/**
 * A command's help: its summary, its usage (only the lines of the action
 * asked about, when one is named and the usage has lines for it), and every
 * option with what it does.
 */
function commandHelp(command: Command, action: string | undefined): string {
  const lines = command.usage.split('\n').filter((line) => line.trim() !== '');
  const forAction =
    action === undefined ? [] : lines.filter((line) => line.split(' ')[2]?.split('|').includes(action));
  const usage = forAction.length > 0 ? forAction : lines;
  const flags = Object.entries(command.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' VALUE' : ''}${o.short ? `, -${o.short}` : ''}`;
    return { flag, description: o.description ?? '' };
  });
  const width = Math.max(...flags.map((f) => f.flag.length));
  return [
    command.summary,
    '',
    'Usage:',
    ...usage.map((line) => `  ${line.trim()}`),
    '',
    'Options:',
    ...flags.map((f) => `  ${f.flag.padEnd(width)}  ${f.description}`.trimEnd()),
    '',
    'Exit codes: 0 ok, 1 unhealthy, 2 usage error, 3 runtime unreachable, 4 API error.',
  ].join('\n');
}

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(
    process.argv.slice(2),
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  );
  if (code >= 0) process.exitCode = code;
}
