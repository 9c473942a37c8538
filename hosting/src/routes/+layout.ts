// A pure SPA: nothing renders on a server and nothing is prerendered; the static host's
// fallback (index.html) boots the client router for every path.
export const ssr = false;
export const prerender = false;
