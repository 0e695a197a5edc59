import { defineConfig } from 'vite';

// The dashboard is static files the gateway serves at `/`, same origin as the API. `npm run dev`
// (vite) proxies the API to a gateway on :8080 for working on the pages.
const api = ['/api', '/v1', '/metrics', '/healthz', '/readyz', '/openapi.json'];

export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: Object.fromEntries(api.map((path) => [path, 'http://127.0.0.1:8080'])) },
});
