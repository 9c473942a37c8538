/**
 * The documents port contract (runtimes/contracts/documents.contract.ts)
 * against FirestoreDocumentStore on the Firestore emulator.
 *
 * The Firestore emulator is a download from Google, so this file runs only
 * where FIRESTORE_EMULATOR_HOST is set (`npm run test:emulators`). Elsewhere it
 * registers no test at all, neither skipped nor passing, and says why on
 * stderr; it is left out of the default Vitest run for that reason.
 */
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import { describeDocumentStoreContract } from '../contracts/documents.contract.js';
import { FirestoreDocumentStore } from './firestore.js';

if (process.env.FIRESTORE_EMULATOR_HOST) {
  describeDocumentStoreContract(
    `Firestore (emulator at ${process.env.FIRESTORE_EMULATOR_HOST})`,
    async () => {
      const app = initializeApp(
        { projectId: process.env.GCLOUD_PROJECT ?? 'demo-seraphim' },
        `documents-contract-${Date.now()}-${Math.random().toString(36).slice(2)}`,
      );
      const firestore = getFirestore(app);
      return {
        store: new FirestoreDocumentStore({ firestore: () => firestore, now: () => Date.now() }),
        teardown: () => deleteApp(app),
      };
    },
  );
} else {
  process.stderr.write(
    "NOT RUN: Firestore adapter contract suite needs FIRESTORE_EMULATOR_HOST (run npm run test:emulators on a machine that can download Google's emulators)\n",
  );
}
