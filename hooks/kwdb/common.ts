// What the KWDB hooks share: `kwbase sql` inside the product's own container, the census of user
// databases (tables and row counts) that export records and import verifies, and the export's layout.
// SQL goes by argv to `docker exec` (never a shell); no secret is ever part of it: in secure mode the
// client authenticates with the root client certificate in the certs dir.
import * as fs from "fs";
import * as path from "path";
import { containerState, docker, dockerStream, startContainer, waitServing } from "../core/docker";
import { HookError, log } from "../core/report";

export interface KwdbTarget {
    readonly container: string;
    /** undefined: `--insecure`; else `--certs-dir=<dir>` (the dir inside the container). */
    readonly certsDir?: string;
}

/** `kwbase sql` authentication flags, the same as the server's start flags. */
export const authArgs = (t: KwdbTarget): string[] => (t.certsDir ? [`--certs-dir=${t.certsDir}`] : ["--insecure"]);

/** The exact argv of `docker` for one SQL statement (CSV output: header row, then rows). */
export function sqlArgv(t: KwdbTarget, sql: string): string[] {
    return [
        "exec",
        t.container,
        "./kwbase",
        "sql",
        ...authArgs(t),
        "--host=127.0.0.1:26257",
        "--format=csv",
        "-e",
        sql,
    ];
}

/** Runs one statement; returns its rows as objects keyed by the header. */
export async function sql(t: KwdbTarget, statement: string): Promise<Record<string, string>[]> {
    const r = await docker(sqlArgv(t, statement), { check: false });
    if (r.code !== 0) {
        const tail = r.stderr.trim().split("\n").slice(-3).join(" | ");
        throw new HookError(
            `kwbase sql in ${t.container} failed on \`${statement.slice(0, 120)}\`: ${tail || `exit ${r.code}`}`,
        );
    }
    return parseCsv(r.stdout);
}

/** Minimal RFC 4180 CSV (quoted fields, "" escapes); the first row is the header. */
export function parseCsv(text: string): Record<string, string>[] {
    const rows: string[][] = [];
    let row: string[] = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (quoted) {
            if (c === '"' && text[i + 1] === '"') {
                field += '"';
                i++;
            } else if (c === '"') quoted = false;
            else field += c;
        } else if (c === '"') quoted = true;
        else if (c === ",") {
            row.push(field);
            field = "";
        } else if (c === "\n" || c === "\r") {
            if (c === "\r" && text[i + 1] === "\n") i++;
            row.push(field);
            field = "";
            if (row.length > 1 || row[0] !== "") rows.push(row);
            row = [];
        } else field += c;
    }
    if (field !== "" || row.length) {
        row.push(field);
        rows.push(row);
    }
    const [header, ...body] = rows;
    if (!header) return [];
    return body.map((r) => Object.fromEntries(header.map((h, i) => [h.trim(), r[i] ?? ""])));
}

/** SQL identifier quoting. */
export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** SQL string literal. */
export const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

// Databases that belong to KWDB itself, never exported (defaultdb only when it holds tables).
const SYSTEM_DATABASES = new Set([
    "system",
    "postgres",
    "information_schema",
    "pg_catalog",
    "kwdb_internal",
    "crdb_internal",
]);

export interface DbCensus {
    /** `schema.table` -> row count. */
    readonly tables: Record<string, number>;
}
export type Census = Record<string, DbCensus>;

const col = (row: Record<string, string>, ...names: string[]) => {
    for (const n of names) if (row[n] !== undefined) return row[n];
    return Object.values(row)[0] ?? "";
};

export async function listDatabases(t: KwdbTarget): Promise<string[]> {
    const rows = await sql(t, "SHOW DATABASES");
    return rows.map((r) => col(r, "database_name")).filter((d) => d && !SYSTEM_DATABASES.has(d));
}

export async function listTables(t: KwdbTarget, db: string): Promise<string[]> {
    const rows = await sql(t, `SHOW TABLES FROM ${ident(db)}`);
    return rows.map((r) => `${r.schema_name || "public"}.${col(r, "table_name")}`).sort();
}

export async function countRows(t: KwdbTarget, db: string, table: string): Promise<number> {
    const [schema, name] = table.split(/\.(.*)/s);
    const rows = await sql(t, `SELECT count(*) FROM ${ident(db)}.${ident(schema)}.${ident(name)}`);
    const n = Number(col(rows[0] ?? {}, "count"));
    if (!Number.isFinite(n)) throw new HookError(`row count of ${db}.${table} in ${t.container}: unexpected answer`);
    return n;
}

/** Tables and row counts of every user database (defaultdb only when it holds tables). */
export async function census(t: KwdbTarget, dbs?: string[]): Promise<Census> {
    const out: Census = {};
    for (const db of dbs ?? (await listDatabases(t))) {
        const tables: Record<string, number> = {};
        for (const table of await listTables(t, db)) tables[table] = await countRows(t, db, table);
        if (db === "defaultdb" && !Object.keys(tables).length) continue;
        out[db] = { tables };
    }
    return out;
}

/**
 * An order-independent fingerprint of a table's content: every row of `SELECT *` (as kwbase prints
 * it in CSV) is hashed and the hashes are added (RowHashSum), so two reads of the same
 * rows in any order agree and a changed, added or removed row changes it (with the row count it
 * is a multiset hash). The rows stream through; none is held in memory.
 */
export async function fingerprintTable(t: KwdbTarget, db: string, table: string): Promise<string> {
    const [schema, name] = table.split(/\.(.*)/s);
    const statement = `SELECT * FROM ${ident(db)}.${ident(schema)}.${ident(name)}`;
    const s = dockerStream(sqlArgv(t, statement), { check: false });
    const acc = new RowHashSum();
    s.stdout!.setEncoding("utf8");
    for await (const chunk of s.stdout!) acc.add(chunk as string);
    const r = await s.done;
    if (r.code !== 0) {
        throw new HookError(
            `kwbase sql in ${t.container} failed on \`${statement.slice(0, 120)}\`: ${r.stderr.trim().split("\n").slice(-3).join(" | ") || `exit ${r.code}`}`,
        );
    }
    return acc.digest();
}

/**
 * The sum of per-record hashes of CSV text (a record may span lines inside quotes); the header is
 * skipped. Each record gets four 32-bit FNV-1a lanes with different offset bases, each finished
 * with MurmurHash3's fmix32 avalanche, and each lane is summed modulo 2^32: the same multiset of
 * rows gives the same sum in any order. Not cryptographic (it detects changes, not tampering): a
 * crypto hash object per row cost ~10 us on this machine, which is too slow for a full table read.
 */
export class RowHashSum {
    private rest = "";
    private header = true;
    private readonly lanes = new Uint32Array(4);
    private rows = 0;
    add(text: string): void {
        const all = this.rest + text;
        let start = 0;
        let from = 0;
        let quotes = 0;
        for (;;) {
            const nl = all.indexOf("\n", from);
            if (nl < 0) break;
            for (let q = all.indexOf('"', from); q >= 0 && q < nl; q = all.indexOf('"', q + 1)) quotes++;
            from = nl + 1;
            if (quotes % 2) continue; // a newline inside a quoted field
            const end = nl > start && all.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
            this.record(all, start, end);
            start = from;
            quotes = 0;
        }
        this.rest = all.slice(start);
    }
    private record(text: string, start: number, end: number): void {
        if (this.header) {
            this.header = false;
            return;
        }
        this.rows++;
        let a = 0x811c9dc5,
            b = 0x01000193 ^ 0x5bd1e995,
            c = 0x9e3779b9,
            d = 0x85ebca6b;
        for (let i = start; i < end; i++) {
            const k = text.charCodeAt(i);
            a = Math.imul(a ^ k, 0x01000193);
            b = Math.imul(b ^ k, 0x01000193);
            c = Math.imul(c ^ k, 0x01000193);
            d = Math.imul(d ^ k, 0x01000193);
        }
        const len = end - start;
        this.lanes[0] = (this.lanes[0] + fmix32(a ^ len)) >>> 0;
        this.lanes[1] = (this.lanes[1] + fmix32(b ^ Math.imul(len, 0xcc9e2d51))) >>> 0;
        this.lanes[2] = (this.lanes[2] + fmix32(c + len)) >>> 0;
        this.lanes[3] = (this.lanes[3] + fmix32(d ^ 0x1b873593)) >>> 0;
    }
    digest(): string {
        if (this.rest !== "") {
            const r = this.rest;
            this.rest = "";
            this.record(r, 0, r.endsWith("\r") ? r.length - 1 : r.length);
        }
        return `${this.rows}:${[...this.lanes].map((x) => x.toString(16).padStart(8, "0")).join("")}`;
    }
}

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
}

/** Per table (`db` -> `schema.table` -> fingerprint) for every table of a census. */
export type Fingerprints = Record<string, Record<string, string>>;

export async function fingerprints(t: KwdbTarget, c: Census): Promise<Fingerprints> {
    const out: Fingerprints = {};
    for (const [db, d] of Object.entries(c)) {
        out[db] = {};
        for (const table of Object.keys(d.tables).sort()) out[db][table] = await fingerprintTable(t, db, table);
    }
    return out;
}

/** Tables whose fingerprints differ (or are missing on one side), one line each. */
export function compareFingerprints(expected: Fingerprints, actual: Fingerprints): string[] {
    const diffs: string[] = [];
    for (const [db, tables] of Object.entries(expected)) {
        for (const [table, fp] of Object.entries(tables)) {
            const a = actual[db]?.[table];
            if (a !== fp)
                diffs.push(
                    `${db}.${table}: content ${a === undefined ? "missing" : "changed"} (fingerprint ${a ?? "-"}, expected ${fp})`,
                );
        }
    }
    return diffs;
}

/** Differences between two census results, one line each (empty: identical). */
export function compareCensus(expected: Census, actual: Census): string[] {
    const diffs: string[] = [];
    for (const [db, e] of Object.entries(expected)) {
        const a = actual[db];
        if (!a) {
            diffs.push(`database ${db} is missing`);
            continue;
        }
        const et = Object.keys(e.tables).length;
        const at = Object.keys(a.tables).length;
        if (et !== at) diffs.push(`${db}: ${at} tables, expected ${et}`);
        for (const [table, n] of Object.entries(e.tables)) {
            if (a.tables[table] === undefined) diffs.push(`${db}.${table} is missing`);
            else if (a.tables[table] !== n) diffs.push(`${db}.${table}: ${a.tables[table]} rows, expected ${n}`);
        }
    }
    return diffs;
}

/** Non-system users (their passwords are not in an export: db-upgrade.md / export-data.md). */
export async function listUsers(t: KwdbTarget): Promise<string[]> {
    const rows = await sql(t, "SHOW USERS");
    return rows
        .map((r) => col(r, "username", "user_name"))
        .filter((u) => u && u !== "root" && u !== "admin")
        .sort();
}

/**
 * Starts the container if it is stopped, then waits until it runs and is healthy (or has no
 * healthcheck): core/docker.ts waitServing, the one wait loop of the hooks.
 */
export async function waitReady(op: string, container: string, seconds: number): Promise<void> {
    const st = await containerState(container);
    if (!st) throw new HookError(`container ${container} does not exist`);
    if (st.status === "dead") throw new HookError(`container ${container} is dead`);
    if (st.status === "exited" || st.status === "created") {
        log(op, `starting ${container} (${st.status})`);
        const why = await startContainer(container);
        if (why !== undefined) throw new HookError(`container ${container} could not be started (${why})`);
    }
    let said = false;
    const r = await waitServing(container, Date.now() + seconds * 1000, () => {
        if (!said) {
            log(op, `waiting for ${container} to be healthy`);
            said = true;
        }
    });
    if (r.serving) return;
    if (!r.state) throw new HookError(`container ${container} disappeared while starting`);
    throw new HookError(
        `container ${container} is not healthy after ${seconds} s (${r.state.status} ${r.state.health}); check \`docker logs ${container}\``,
    );
}

/** What kwdb-export leaves next to the backup: `<out>/export.json` and the exported tree in `<out>/data`. */
export const EXPORT_FORMAT = "upshift-kwdb-export/1";
export interface ExportManifest {
    readonly format: typeof EXPORT_FORMAT;
    readonly createdAt: string;
    readonly container: string;
    /** The export dir name under `<store>/extern/` (the nodelocal://1/<dir> of every statement). */
    readonly dir: string;
    readonly databases: Census;
    /** Content fingerprints per table, taken with writes stopped (absent in exports of older upshift). */
    readonly fingerprints?: Fingerprints;
    /** Non-system users whose passwords must be reset after the import. */
    readonly users: string[];
    readonly statements: string[];
    readonly seconds: number;
}

export function readExportManifest(dir: string): ExportManifest {
    const file = path.join(dir, "export.json");
    if (!fs.existsSync(file))
        throw new HookError(`${file} not found: run kwdb-export first (the export is kept next to the backup)`);
    const m = JSON.parse(fs.readFileSync(file, "utf8")) as ExportManifest;
    if (m.format !== EXPORT_FORMAT) throw new HookError(`${file}: unknown format ${String(m.format)}`);
    return m;
}

/** Total rows of a census (for the final JSON line). */
export const totalRows = (c: Census) =>
    Object.values(c).reduce((n, d) => n + Object.values(d.tables).reduce((a, b) => a + b, 0), 0);
export const totalTables = (c: Census) => Object.values(c).reduce((n, d) => n + Object.keys(d.tables).length, 0);
