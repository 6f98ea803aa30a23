/**
 * Raw SQL rendered once and run as named prepared statements: the recordings' part path calls these per part, so
 * they skip drizzle's query builder (~0.3 ms of CPU a part) and postgres-js parses and plans each once per
 * connection. The SQL functions they call live in the migrations.
 */
import { getTableColumns, sql, type Query, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Db } from './client.js';
import { recordings, type RecordingRow } from './schema.js';

/** Renders raw SQL once; the dialect only turns the template into text and parameters. */
const dialect = new PgDialect();

/** A statement rendered once, placeholders (sql.placeholder) left for each run. */
export type PreparedStatement = Query & { name: string };

export function prepared(name: string, statement: SQL): PreparedStatement {
  return { ...dialect.sqlToQuery(statement), name };
}

/**
 * Runs a statement rendered once on `db` or on a transaction (a prepared drizzle query is bound to the
 * connection it was built on; this takes the transaction's), as a named prepared statement.
 */
export function runPrepared<T>(db: Db, statement: PreparedStatement, values: Record<string, unknown>): Promise<T[]> {
  return db._.session.prepareQuery(statement, undefined, statement.name, false).execute(values) as Promise<T[]>;
}

/** The recordings table's columns, by database name: to read a row a raw statement returned. */
const RECORDING_COLUMNS = Object.entries(getTableColumns(recordings));

/** A `recordings` row as the driver returned it (snake_case, driver values) → the row drizzle would have mapped. */
export function recordingFromColumns(raw: Record<string, unknown>): RecordingRow {
  const row: Record<string, unknown> = {};
  for (const [key, column] of RECORDING_COLUMNS) {
    const value = raw[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as RecordingRow;
}

/** A new recording: the user's lock, the open count, the insert, in one round trip (migration 0006). */
export function createRecordingStatement(): PreparedStatement {
  return prepared(
    'sortie_create_recording',
    sql`select * from sortie_create_recording(${sql.placeholder('id')}::uuid, ${sql.placeholder('sessionId')},
          ${sql.placeholder('userId')}, ${sql.placeholder('userName')}, ${sql.placeholder('mimeType')},
          ${sql.placeholder('storageKey')}, ${sql.placeholder('uploadId')}, ${sql.placeholder('at')}::timestamptz,
          ${sql.placeholder('maxOpen')}::int)`,
  );
}

/** What sortie_request_part answers: the recording, the sums its size rules read, and whether it reserved. */
export interface RequestPartRow {
  user_id: string;
  status: RecordingRow['status'];
  storage_key: string;
  upload_id: string | null;
  this_part: string | null;
  others: string | null;
  user_others: string | null;
  reserved: number;
}

/**
 * A part's reservation: the locks, then the sums and the reservation, in one round trip (migration 0005).
 * `sizeFromReservations`: the backend's bytes bypass the service, so a part's size is what was reserved for it.
 */
export function requestPartStatement(maxSizeBytes: number, sizeFromReservations: boolean): PreparedStatement {
  return prepared(
    'sortie_request_part',
    sql`select * from sortie_request_part(${sql.placeholder('id')}::uuid, ${sql.placeholder('userId')},
          ${sql.placeholder('partNumber')}::int, ${sql.placeholder('sizeBytes')}::bigint, ${sql.placeholder('at')}::timestamptz,
          ${maxSizeBytes}::bigint, ${sql.placeholder('userCap')}::bigint, ${sizeFromReservations})`,
  );
}

/** A received version recorded as the part, with the version it replaced; see PartsService.recordStoredPart. */
export function recordStoredPartStatement(): PreparedStatement {
  return prepared(
    'sortie_part_stored',
    sql`
      with rec as materialized (
        select id from recordings where id = ${sql.placeholder('id')} and status in ('recording', 'uploading') for update
      ), cur as (
        select p.etag, p.stored_size from recording_parts p join rec on p.recording_id = rec.id
        where p.part_number = ${sql.placeholder('partNumber')} and p.declared_size = ${sql.placeholder('sizeBytes')}
        for update of p
      ), upd as (
        update recording_parts p set stored_size = ${sql.placeholder('storedSize')}, etag = ${sql.placeholder('etag')}, updated_at = ${sql.placeholder('at')}::timestamptz
        from cur where p.recording_id = ${sql.placeholder('id')} and p.part_number = ${sql.placeholder('partNumber')}
        returning cur.etag as superseded, cur.stored_size as old_size
      ), total as (
        update recordings r set last_activity_at = ${sql.placeholder('at')}::timestamptz, updated_at = ${sql.placeholder('at')}::timestamptz,
          size_bytes = r.size_bytes - coalesce(upd.old_size, 0) + ${sql.placeholder('storedSize')}
        from upd where r.id = ${sql.placeholder('id')}
        returning r.id
      )
      select (select count(*) from rec)::int as open, (select count(*) from total)::int as stored,
        (select superseded from upd) as superseded`,
  );
}
