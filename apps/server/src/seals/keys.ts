/**
 * The keys that sign seals. The signing key is SORTIE_SEAL_PRIVATE_KEY (Ed25519, PEM or JWK) when it is set,
 * else one the service generates once and keeps in the database (seal_keys), shared by every replica. Every
 * key that ever signed is kept in seal_keys (its public half) and published, so that seals signed before a
 * rotation still verify.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { parsePrivateKey } from './key-text.js';
import { desc, isNotNull, sql } from 'drizzle-orm';
import type { SealKey } from '@sortie/contract';
import type { Db } from '../db/client.js';
import { sealKeys } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';

export interface Signer {
  kid: string;
  key: KeyObject;
}

/** The RFC 7638 thumbprint of an Ed25519 public key: base64url SHA-256 of its required members, in order. */
export function jwkThumbprint(x: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x }))
    .digest('base64url');
}

function publicX(key: KeyObject): string {
  return (createPublicKey(key).export({ format: 'jwk' }) as { x: string }).x;
}

export class SealKeyring {
  private signer: Promise<Signer> | null = null;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** SORTIE_SEAL_PRIVATE_KEY, or null for a generated key. */
    private readonly configured: string | null,
  ) {}

  /** The key new seals are signed with (read or made once per process). */
  current(): Promise<Signer> {
    this.signer ??= this.load().catch((err: unknown) => {
      this.signer = null;
      throw err;
    });
    return this.signer;
  }

  /** Every key that ever signed, the current one first. */
  async published(): Promise<SealKey[]> {
    const current = await this.current();
    const rows = await this.db
      .select({ kid: sealKeys.kid, x: sealKeys.x })
      .from(sealKeys)
      .orderBy(desc(sealKeys.createdAt));
    rows.sort((a, b) => Number(b.kid === current.kid) - Number(a.kid === current.kid));
    return rows.map((r) => ({ kty: 'OKP', crv: 'Ed25519', x: r.x, kid: r.kid }));
  }

  private async load(): Promise<Signer> {
    if (this.configured) {
      const key = parsePrivateKey(this.configured);
      const x = publicX(key);
      const kid = jwkThumbprint(x);
      await this.db
        .insert(sealKeys)
        .values({ kid, x, privatePem: null, createdAt: this.clock.now() })
        .onConflictDoNothing();
      return { kid, key };
    }
    return this.db.transaction(async (tx) => {
      // One generated key for every replica: the first to start makes it, the others wait and read it.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('sortie.seal-key', 0))`);
      const [row] = await tx
        .select()
        .from(sealKeys)
        .where(isNotNull(sealKeys.privatePem))
        .orderBy(desc(sealKeys.createdAt))
        .limit(1);
      if (row?.privatePem) return { kid: row.kid, key: createPrivateKey(row.privatePem) };
      const { privateKey } = generateKeyPairSync('ed25519');
      const x = publicX(privateKey);
      const kid = jwkThumbprint(x);
      const privatePem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      await tx.insert(sealKeys).values({ kid, x, privatePem, createdAt: this.clock.now() });
      return { kid, key: privateKey };
    });
  }
}
