// The dashboard as the gateway serves it: `/` and `/assets/*` from the built folder, with a
// content security policy and cache rules, open without the API key (the page asks for it), and
// API calls from the page's own origin allowed whatever name the gateway was reached by.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vmm-dashboard-files-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(
  join(dir, 'index.html'),
  '<!doctype html><title>VMM</title><script src="/assets/app-1a2b.js"></script>',
);
writeFileSync(join(dir, 'assets', 'app-1a2b.js'), 'console.log("dashboard")');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const workers = useWorkers();
const keyed = useGateway(() =>
  gatewayConfig(cpuWorkers(workers), { apiKeys: ['dash-key'], dashboardDir: dir }),
);
const off = useGateway(() => gatewayConfig(cpuWorkers(workers), { dashboardDir: undefined }));
const missing = useGateway(() => gatewayConfig(cpuWorkers(workers), { dashboardDir: join(dir, 'nope') }));
// Bound beyond loopback (as in a container): Host names are not checked, origins are.
const wide = useGateway(() => gatewayConfig(cpuWorkers(workers), { host: '0.0.0.0', dashboardDir: dir }));

/** A GET with the headers fetch will not set (Host). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard files', () => {
  it('serves index.html at / without the API key, with a strict content security policy', async () => {
    const response = await fetch(`${keyed.url}/`, { headers: { accept: 'text/html' } });
    // Anything else asking for / gets Ollama's answer.
    expect(await (await fetch(`${keyed.url}/`)).text()).toBe('VMM is running');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('unsafe');
    expect(await response.text()).toContain('<title>VMM</title>');
    // The API itself still wants the key.
    expect((await fetch(`${keyed.url}/api/tags`)).status).toBe(401);
  });

  it('serves hashed assets for a year, and a missing one as the API’s 404', async () => {
    const asset = await fetch(`${keyed.url}/assets/app-1a2b.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await asset.text()).toBe('console.log("dashboard")');
    const gone = await fetch(`${keyed.url}/assets/other.js`, {
      headers: { authorization: 'Bearer dash-key' },
    });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { message: string } }).error.message).toBe(
      'Invalid URL (GET /assets/other.js)',
    );
  });

  it('says why there is no dashboard when it is off or not built', async () => {
    const offAnswer = await fetch(`${off.url}/`, { headers: { accept: 'text/html' } });
    expect(offAnswer.status).toBe(404);
    expect(await offAnswer.text()).toContain('the dashboard is off (VMM_DASHBOARD_DIR=off)');
    const notBuilt = await fetch(`${missing.url}/`, { headers: { accept: 'text/html' } });
    expect(notBuilt.status).toBe(404);
    expect(await notBuilt.text()).toMatch(
      /the dashboard is not built \(no .*nope\/index\.html\): run `npm run build`/,
    );
  });

  it('lets the page call the API from its own origin, by any host name, and no other origin', async () => {
    const port = new URL(wide.url).port;
    const own = await get(`${wide.url}/api/tags`, {
      host: `vmm.example:${port}`,
      origin: `http://vmm.example:${port}`,
    });
    expect(own.status).toBe(200);
    expect(own.body).toContain('tiny-llama');
    const other = await get(`${wide.url}/api/tags`, {
      host: `vmm.example:${port}`,
      origin: 'http://evil.example',
    });
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body)).toEqual({
      error: 'origin "http://evil.example" is not allowed; add it to VMM_ORIGINS',
    });
    // Same name, other port: another origin.
    const otherPort = await get(`${wide.url}/api/tags`, {
      host: `vmm.example:${port}`,
      origin: 'http://vmm.example:1',
    });
    expect(otherPort.status).toBe(403);
  });
});
