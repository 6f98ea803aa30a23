/**
 * Demo mode stays out of production: refused under any spelling of a production
 * NODE_ENV; refused beside a real secret or a JWKS; its tokens are signed with
 * a key of its own, so no other instance (nor the URL signing key) accepts them.
 */
import { sign, verify } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { TEST_SECRET, testApp, token, type TestApp } from './helpers.js';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('configuration', () => {
  it.each(['production', 'PRODUCTION', 'Production', 'prod', 'PROD', ' production '])(
    'refuses SORTIE_DEMO=true with NODE_ENV=%j',
    (nodeEnv) => {
      expect(configError({ SORTIE_DEMO: 'true', NODE_ENV: nodeEnv }).variable).toBe('SORTIE_DEMO');
    },
  );

  it('still starts demo mode under development, test, staging or no NODE_ENV', () => {
    for (const NODE_ENV of ['development', 'test', 'staging', 'productionish'])
      expect(loadConfig({ SORTIE_DEMO: 'true', NODE_ENV }).demo).toBe(true);
    expect(loadConfig({ SORTIE_DEMO: 'true' }).demo).toBe(true);
  });

  it('refuses demo mode beside a real secret or a JWKS, naming the variable', () => {
    expect(configError({ SORTIE_DEMO: 'true', SORTIE_AUTH_JWT_SECRET: TEST_SECRET }).variable).toBe(
      'SORTIE_AUTH_JWT_SECRET',
    );
    expect(
      configError({ SORTIE_DEMO: 'true', SORTIE_AUTH_JWKS_URL: 'https://idp.example.com/jwks.json' }).variable,
    ).toBe('SORTIE_AUTH_JWKS_URL');
  });
});

describe('demo tokens', () => {
  let demo: TestApp;
  let real: TestApp;
  beforeAll(async () => {
    demo = await testApp({ env: { SORTIE_DEMO: 'true', SORTIE_AUTH_JWT_SECRET: '' } });
    // Another instance on the same database (so the same deployment key), with a real secret.
    real = await testApp({ database: demo.database });
  });
  afterAll(async () => {
    await real?.close();
    await demo?.close();
  });

  const mint = async (as: string) => {
    const res = await demo.json('POST', '/api/demo/token', { as });
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  };
  const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

  it('are accepted by the demo instance', async () => {
    const admin = await mint('admin');
    expect((await demo.json('GET', '/api/admin/settings', undefined, bearer(admin))).status).toBe(200);
    expect((await demo.json('GET', '/api/recordings', undefined, bearer(await mint('user')))).status).toBe(200);
  });

  it('include a demo auditor: the trail is readable, the settings are not', async () => {
    const auditor = bearer(await mint('auditor'));
    expect((await demo.json('GET', '/api/admin/audit', undefined, auditor)).status).toBe(200);
    expect((await demo.json('GET', '/api/admin/settings', undefined, auditor)).status).toBe(403);
    const { users } = (await (await demo.app.request('/api/demo')).json()) as { users: { as: string; role: string }[] };
    expect(users).toContainEqual(expect.objectContaining({ as: 'auditor', role: 'auditor' }));
  });

  it('are not signed with the deployment key (the key of signed URLs)', async () => {
    const admin = await mint('admin');
    const deploymentKey = await demo.service.settings.signingKey();
    await expect(verify(admin, deploymentKey, 'HS256')).rejects.toThrow();
  });

  it('a token forged with the deployment key is refused as a bearer token', async () => {
    const deploymentKey = await demo.service.settings.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const forged = await sign({ sub: 'demo-admin', role: 'admin', iat: now, exp: now + 600 }, deploymentKey, 'HS256');
    const res = await demo.json('GET', '/api/admin/settings', undefined, bearer(forged));
    expect(res.status).toBe(401);
  });

  it('a demo admin token is refused by an instance with a real secret, and that secret gets nothing from the demo one', async () => {
    const admin = await mint('admin');
    expect((await real.json('GET', '/api/admin/settings', undefined, bearer(admin))).status).toBe(401);
    const realAdmin = await token({ sub: 'admin-1', role: 'admin' });
    expect((await demo.json('GET', '/api/admin/settings', undefined, bearer(realAdmin))).status).toBe(401);
  });

  it('the demo routes exist only in demo mode', async () => {
    expect((await real.json('POST', '/api/demo/token', { as: 'admin' })).status).toBe(404);
  });
});
