/**
 * Runs the blob contract against the embedded adapter over real files and a
 * real HTTP server (the upload URL is a route on it): once with a data
 * folder, once as a `:memory:` runtime, whose blobs live in a temporary folder.
 */
import { startTestRuntime } from '../../test-support/embedded.js';
import { describeBlobStoreContract } from './blobs.contract.js';

for (const dataDir of [undefined, ':memory:'] as const) {
  describeBlobStoreContract(
    `embedded files (${dataDir ?? 'data folder'})`,
    async () => {
      const rt = await startTestRuntime([], dataDir ? { dataDir } : {});
      return { blobs: rt.runtime.ports.blobs, origin: rt.url, teardown: () => rt.dispose() };
    },
    { uploads: true },
  );
}
