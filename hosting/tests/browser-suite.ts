/// <reference types="node" />
/**
 * One Mission Control browser suite's setup: the real embedded runtime
 * (`startServer()`) and a real headless Chromium, with the hooks that fail
 * every test (never skip) when the browser is missing and fail a test whose
 * page threw. Call once at the top of a test file.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page, type Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { type ServerUnderTest, startServer } from './server.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface BrowserSuite {
  /** The runtime's origin, e.g. `http://127.0.0.1:41234`. */
  origin(): string;
  /** Everything the runtime printed so far. */
  output(): string;
  /** A page in a fresh context; its uncaught exceptions fail the test. */
  openPage(viewport?: { width: number; height: number }): Promise<Page>;
}

/** @param options.env more settings for the runtime under test, e.g. `SERAPHIM_AUTH=session` */
export function browserSuite(options: { env?: Record<string, string> } = {}): BrowserSuite {
  let server: ServerUnderTest | undefined;
  let browser: Browser | undefined;
  let pageErrors: Error[] = [];
  /** Why the suite could not start: rethrown by every test, so a missing browser fails them all. */
  let setupError: unknown;

  beforeAll(async () => {
    try {
      if (!existsSync(CHROMIUM_PATH)) {
        throw new Error(
          `No Chromium at ${CHROMIUM_PATH}. Install it with \`apt-get install -y chromium\` ` +
            '(or point CHROMIUM_PATH at a Chromium binary). These tests never download a browser.',
        );
      }
      server = await startServer(options.env);
      // launch() gives every run a fresh temporary profile; each page gets its own context on top.
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    } catch (error) {
      setupError = error;
    }
  });
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });
  afterEach(() => {
    const errors = pageErrors;
    pageErrors = [];
    expect(errors.map((error) => error.message)).toEqual([]);
  });

  return {
    origin() {
      if (!server) throw new Error('server not started');
      return server.url;
    },
    output() {
      if (!server) throw new Error('server not started');
      return server.output();
    },
    async openPage(viewport = { width: 1280, height: 860 }) {
      if (!browser) throw new Error('browser not launched');
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error));
      // When the browser itself shuts down, closing the context fails harmlessly: swallow that,
      // or it surfaces as an unhandled rejection after the suite.
      page.on('close', () => context.close().catch(() => {}));
      return page;
    },
  };
}

/** Simulates the tab being hidden or shown: what the page sees when the user switches tabs. */
export async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate((value) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => value });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => value === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/**
 * Waits until every request the page has started so far has reached the
 * test's `request` listeners, so a count that should not have grown can be
 * checked without sleeping. The page sends one more request (to a path no
 * counter watches) and waits for its answer: Playwright delivers request
 * events in the order the page sent them, before that answer, and a poll due
 * on the hand-moved clock has already fired inside `clock.fastForward`.
 */
export async function requestBarrier(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await fetch('/__request-barrier', { cache: 'no-store' });
  });
}

/** Answers a request the way a runtime that is shutting down does: 503 problem+json. */
export const unavailableProblem = (route: Route) =>
  route.fulfill({
    status: 503,
    contentType: 'application/problem+json',
    body: JSON.stringify({
      type: 'https://seraphim.dev/problems/unavailable',
      title: 'Runtime unavailable',
      status: 503,
      code: 'unavailable',
      detail: 'The runtime is shutting down',
    }),
  });
