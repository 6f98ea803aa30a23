/**
 * Run-time settings kept in the database (one row), so every replica sees a
 * change at once and it survives restarts.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { settings } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';

export interface Settings {
  autoRecord: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}

export class SettingsService {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async get(): Promise<Settings> {
    const [row] = await this.db.select().from(settings).where(eq(settings.id, 1));
    if (!row) throw new Error('settings row missing: migrations not applied');
    return { autoRecord: row.autoRecord, updatedAt: row.updatedAt?.toISOString() ?? null, updatedBy: row.updatedBy };
  }

  async update(patch: { autoRecord: boolean }, by: string): Promise<Settings> {
    await this.db
      .update(settings)
      .set({ autoRecord: patch.autoRecord, updatedAt: this.clock.now(), updatedBy: by })
      .where(eq(settings.id, 1));
    return this.get();
  }

  /** The key of the service's own signed URLs, the same on every replica. */
  async signingKey(): Promise<string> {
    const [row] = await this.db.select({ k: settings.signingKey }).from(settings).where(eq(settings.id, 1));
    if (!row) throw new Error('settings row missing: migrations not applied');
    return row.k;
  }
}
