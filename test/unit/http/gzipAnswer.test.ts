// /metrics in gzip for a scraper that accepts it (Prometheus does), identity otherwise; one
// compression per answer. The agent is scraped over node:http, which does not decompress by itself.
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, GzipAnswers } from '../../../agent/http/gzipAnswer';
import { startInProcessAgent, type InProcessAgent } from '../../helpers/inProcessAgent';

function scrape(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/metrics`, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gzip on /metrics', () => {
  test.each([
    [undefined, false],
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['deflate', false],
    ['identity', false],
    ['gzip;q=0', false],
    ['gzip;q=0.5, identity', false],
    ['*', true],
    ['*;q=0', false],
  ])('Accept-Encoding %s: gzip %s', (value, gzip) => {
    expect(acceptsGzip(value === undefined ? {} : { 'accept-encoding': value })).toBe(gzip);
  });

  test('one compression per answer: the same buffer reuses it, concurrent scrapes share it, a new answer is compressed anew', async () => {
    const g = new GzipAnswers();
    const a = Buffer.from('keepalived_up 1\n'.repeat(1000));
    const first = g.get(a);
    expect(g.get(a)).toBe(first);
    expect(gunzipSync(await first).equals(a)).toBe(true);
    expect((await first).length).toBeLessThan(a.length / 10);
    const b = Buffer.from('keepalived_up 0\n');
    const second = g.get(b);
    expect(second).not.toBe(first);
    expect(gunzipSync(await second).toString()).toBe('keepalived_up 0\n');
  });

  describe('a real agent', () => {
    let agent: InProcessAgent;
    beforeAll(async () => {
      agent = await startInProcessAgent();
    });
    afterAll(async () => {
      await agent.stop();
    });

    test("Prometheus's request headers: gzip, decoding to the exposition, with its length and Vary", async () => {
      const r = await scrape(agent.url, { accept: 'text/plain;version=0.0.4;q=0.3,*/*;q=0.2', 'accept-encoding': 'gzip' });
      expect(r.status).toBe(200);
      expect(r.headers['content-encoding']).toBe('gzip');
      expect(r.headers.vary).toBe('Accept-Encoding');
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      const text = gunzipSync(r.body).toString('utf8');
      expect(text).toMatch(/^keepwatch_build_info\{/m);
      expect(text.endsWith('\n')).toBe(true);
      expect(r.body.length).toBeLessThan(Buffer.byteLength(text) / 4);
    });

    test.each([[{}], [{ 'accept-encoding': 'gzip;q=0' }], [{ 'accept-encoding': 'identity' }]])('%j: the plain text', async (headers) => {
      const r = await scrape(agent.url, headers);
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.headers.vary).toBe('Accept-Encoding');
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      expect(r.body.toString('utf8')).toMatch(/^keepwatch_build_info\{/m);
    });
  });
});
