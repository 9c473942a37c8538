import { expect, test } from 'vitest';
import { browserSuite } from './browser-suite.ts';

const SCREENSHOT = '/tmp/api-docs.png';

const { origin, openPage } = browserSuite();

test('the API reference at /api/docs renders the operations, from this origin alone, within its policy', async () => {
  const page = await openPage();
  const foreign: string[] = [];
  const refused: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(origin()) && !request.url().startsWith('data:'))
      foreign.push(request.url());
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
  await page.goto(`${origin()}/api/docs`);
  await page.getByText('Runtime health: documents, kv and task queue reachability').first().waitFor();
  await page.getByText('Run a use case over one input').first().click();
  // Opened, the operation shows its declared problems, each with its one-line description.
  await page.getByText('Over a budget or a rate limit').first().waitFor();
  await page.screenshot({ path: SCREENSHOT });
  expect(foreign).toEqual([]);
  expect(refused).toEqual([]);
});
