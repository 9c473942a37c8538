/**
 * The blob port contract (runtimes/contracts/blobs.contract.ts) against
 * StorageBlobStore on the Cloud Storage emulator.
 *
 * The Storage emulator cannot run everywhere (it needs Java), so this file
 * runs only where FIREBASE_STORAGE_EMULATOR_HOST is set
 * (`npm run test:emulators`). Elsewhere it registers no test at all, neither
 * skipped nor passing, and says why on stderr. The emulator cannot sign URLs,
 * so the upload-URL tests are left to storage-blobs.test.ts (the options) and
 * the embedded run (the HTTP path).
 */
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getStorage } from 'firebase-admin/storage';
import { systemClock } from '../../platform/clock.js';
import { describeBlobStoreContract } from '../contracts/blobs.contract.js';
import { StorageBlobStore } from './storage-blobs.js';

if (process.env.FIREBASE_STORAGE_EMULATOR_HOST) {
  describeBlobStoreContract(
    `Cloud Storage (emulator at ${process.env.FIREBASE_STORAGE_EMULATOR_HOST})`,
    async () => {
      const projectId = process.env.GCLOUD_PROJECT ?? 'demo-seraphim';
      const app = initializeApp(
        { projectId, storageBucket: `${projectId}.appspot.com` },
        `blobs-contract-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      );
      return {
        blobs: new StorageBlobStore({ bucket: async () => getStorage(app).bucket(), clock: systemClock }),
        teardown: () => deleteApp(app),
      };
    },
    { uploads: false },
  );
} else {
  process.stderr.write(
    'NOT RUN: Cloud Storage adapter contract suite needs FIREBASE_STORAGE_EMULATOR_HOST (run npm run test:emulators on a machine with Java for the Storage emulator)\n',
  );
}
