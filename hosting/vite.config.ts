import adapter from '@sveltejs/adapter-static';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    sveltekit({
      // Mission Control is a pure SPA: the embedded runtime and Firebase Hosting both serve
      // `build/` and rewrite every unknown path to index.html, which boots the client router.
      adapter: adapter({ fallback: 'index.html' }),
    }),
  ],
  server: {
    // `npm run dev -w hosting` next to `npm start`: the API comes from the embedded runtime.
    proxy: { '/api': process.env.SERAPHIM_URL ?? 'http://127.0.0.1:4400' },
  },
  ssr: {
    // Kit's server output (used at build time to write the fallback page) imports `cookie@2`.
    // In this monorepo the hoisted root `cookie` is express's 0.7, so bundle Kit's own copy
    // instead of resolving the bare import from the output directory.
    noExternal: ['cookie'],
  },
});
