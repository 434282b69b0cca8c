// Shared by pg-dump, pg-restore and pg-migrate: how Postgres tools are run (in a short-lived
// container of a Postgres image, on the network namespace of the server's container), the
// interactive psql session used for snapshots and checks, the per-table checks (row count and a
// content hash) and the dump.json manifest. Imports nothing from Pulumi.
import * as fs from "fs";
import * as path from "path";
import { publishJson } from "../core/atomic-file";
import { UsageError } from "../core/command";
import { docker, dockerStream, ProcessError, scrubSecrets, Streaming } from "../core/docker";
import { HookError, log } from "../core/report";
import { progressMs } from "../core/settings";

export const DUMP_FORMAT = "upshift-pg-dump/1";

/** Row count and content hash of one table. */
export interface TableCheck {
    rows: number;
    /** 128-bit multiset hash of the rows (order-independent); see TABLE_CHECK_SQL. */
    hash: string;
}

export interface DbChecks {
    /** "schema.table" -> check; ordinary tables (and partitions), not extension members. */
    tables: Record<string, TableCheck>;
    /** "schema.sequence" -> last_value (null before the first nextval). */
    sequences: Record<string, string | null>;
    largeObjects: number;
    /** How the hashes were computed (absent: "full", the only form before levels). */
    level?: CheckLevel;
}

export interface DumpedDb {
    name: string;
    /** Directory of the `pg_dump -Fd` archive, relative to the dump directory (not in plain mode). */
    dir?: string;
    bytes: number;
    checks: DbChecks;
}

export interface DumpManifest {
    format: typeof DUMP_FORMAT;
    /** "directory": globals.sql + one pg_dump -Fd archive per database; "plain": dumpall.sql. */
    mode: "directory" | "plain";
    createdAt: string;
    source: { container: string; serverVersion: string; serverVersionNum: number };
    tools: { image: string; version: string };
    user: string;
    jobs: number;
    /** pg_dumpall --globals-only output (roles; contains password hashes: mode 0600). */
    globals?: string;
    plain?: string;
    databases: DumpedDb[];
    seconds: number;
}

/** Where the Postgres tools run: a helper container of `image` sharing `container`'s network. */
/** A Postgres major change: the old container, the new image and volume, a work dir, the superuser, the writers to stop. */
export interface MigrationTarget {
    container: string;
    newImage: string;
    newVolume: string;
    work: string;
    user: string;
    stop: string[];
}

export interface PgTarget {
    container: string;
    image: string;
    user: string;
    /** Host directory mounted at /work in the helper (dump archives). */
    workDir?: string;
    workReadOnly?: boolean;
    /**
     * Run the tools by `docker exec` in the server's own container (its own client tools), not in
     * a helper container: no container to create per query, which under load costs 0.5-1 s each
     * (`docker exec` 0.15-0.3 s). Only for a container of a Postgres server image; no workDir.
     */
    exec?: boolean;
}

/** Exit with a one-line reason (exit 1). */
export function fail(message: string): never {
    throw new HookError(message);
}

export function info(op: string, message: string): void {
    log(op, message);
}

export interface ContainerInfo {
    running: boolean;
    /** Image ID (sha256:...) the container runs: its own tools, whatever its tag points to now. */
    imageId: string;
}

export async function inspectContainer(name: string): Promise<ContainerInfo | undefined> {
    const r = await docker(["container", "inspect", "--format", "{{.State.Running}} {{.Image}}", name], {
        check: false,
    });
    if (r.code !== 0) {
        if (/no such (object|container)/i.test(r.stderr)) return undefined;
        throw new ProcessError("docker", ["container", "inspect", name], r.code, r.stderr);
    }
    const [running, imageId] = r.stdout.trim().split(/\s+/);
    return { running: running === "true", imageId };
}

/** A running container, or a clear failure. */
export async function requireRunning(name: string): Promise<ContainerInfo> {
    const c = await inspectContainer(name);
    if (!c) fail(`container ${name} does not exist`);
    if (!c.running) fail(`container ${name} is not running (start the Postgres container first)`);
    return c;
}

/** Parallel jobs: the Docker host's cores (it is where pg_dump/pg_restore run). */
export async function hostCpus(): Promise<number> {
    const r = await docker(["info", "--format", "{{.NCPU}}"], { check: false });
    const n = Number(r.stdout.trim());
    return Number.isInteger(n) && n > 0 ? n : 2;
}

/**
 * `docker run` arguments for a Postgres tool. The secret stays in our environment: `-e PGPASSWORD`
 * without a value makes docker copy it, so it is never on a command line. The helper connects to
 * 127.0.0.1 inside the server's network namespace (trusted there by the official image; with a
 * password otherwise). It runs as our uid so the files it writes in the work dir are ours.
 */
export function toolArgs(
    t: PgTarget,
    entrypoint: string,
    args: string[],
    opts: { interactive?: boolean; pgoptions?: string } = {},
): string[] {
    if (t.exec) {
        if (t.workDir) throw new Error("toolArgs: a workDir needs a helper container (exec: false)");
        const e = [
            "exec",
            ...(opts.interactive ? ["-i"] : []),
            "-e",
            "PGHOST=127.0.0.1",
            "-e",
            "PGPORT=5432",
            "-e",
            `PGUSER=${t.user}`,
            "-e",
            "PGAPPNAME=upshift",
        ];
        if (process.env.PGPASSWORD !== undefined) e.push("-e", "PGPASSWORD");
        if (opts.pgoptions) e.push("-e", `PGOPTIONS=${opts.pgoptions}`);
        return [...e, t.container, entrypoint, ...args];
    }
    // The target label lets a rerun find helpers that a killed run left behind (removeLeftoverTools).
    const a = [
        "run",
        "--rm",
        "--label",
        "upshift.helper=true",
        "--label",
        `upshift.pg-target=${t.container}`,
        "--log-driver",
        "none",
    ];
    if (opts.interactive) a.push("-i");
    a.push("--network", `container:${t.container}`);
    a.push("-e", "PGHOST=127.0.0.1", "-e", "PGPORT=5432", "-e", `PGUSER=${t.user}`, "-e", "PGAPPNAME=upshift");
    if (process.env.PGPASSWORD !== undefined) a.push("-e", "PGPASSWORD");
    if (opts.pgoptions) a.push("-e", `PGOPTIONS=${opts.pgoptions}`);
    if (t.workDir) a.push("-v", `${path.resolve(t.workDir)}:/work${t.workReadOnly ? ":ro" : ""}`);
    if (typeof process.getuid === "function") a.push("--user", `${process.getuid()}:${process.getgid!()}`);
    a.push("--entrypoint", entrypoint, t.image, ...args);
    return a;
}

/**
 * Removes tool containers of an earlier run on this server that was killed: `docker run` clients
 * die with the hook, but their containers (a pg_restore, say) would go on writing.
 */
export async function removeLeftoverTools(op: string, container: string): Promise<void> {
    const r = await docker(["ps", "-aq", "--filter", `label=upshift.pg-target=${container}`]);
    const ids = r.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
    if (!ids.length) return;
    info(op, `removing ${ids.length} tool container(s) left by an interrupted run on ${container}`);
    await docker(["rm", "-f", ...ids], { check: false });
}

/** Runs a Postgres tool to completion; its stderr is echoed (scrubbed) when asked. */
export async function runTool(
    t: PgTarget,
    entrypoint: string,
    args: string[],
    opts: { echo?: boolean; check?: boolean; pgoptions?: string } = {},
) {
    for (let attempt = 1; ; attempt++) {
        const r = await docker(toolArgs(t, entrypoint, args, { pgoptions: opts.pgoptions }), {
            echoStderr: opts.echo,
            check: false,
        });
        // A loaded engine sometimes fails to create the container (runc: "can't get final
        // child's PID"); nothing ran, so trying again is safe.
        if (r.code === 125 && /OCI runtime create failed|failed to create shim task/.test(r.stderr) && attempt < 3) {
            info("postgres", `docker could not create the ${entrypoint} container (attempt ${attempt}); retrying`);
            await new Promise((res) => setTimeout(res, 1000 * attempt));
            continue;
        }
        if (r.code !== 0 && opts.check !== false)
            throw new ProcessError(
                "docker",
                toolArgs(t, entrypoint, args, { pgoptions: opts.pgoptions }),
                r.code,
                r.stderr,
            );
        return r;
    }
}

/** libpq connection string for one database (names may hold any character). */
export function conninfo(db: string): string {
    return `dbname='${db.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export function quoteLiteral(s: string): string {
    return `'${s.replace(/'/g, "''")}'`;
}

export function quoteIdent(s: string): string {
    return `"${s.replace(/"/g, '""')}"`;
}

/**
 * One psql process kept open (stdin pipe): queries are sent one at a time and each answer ends at
 * a marker line. Used to hold the transaction whose snapshot pg_dump shares, so the counts are
 * of exactly the data dumped, even if something still writes. Every answer is one JSON value.
 */
export class PsqlSession {
    private readonly s: Streaming;
    private buf = "";
    private waiting: { resolve: (lines: string[]) => void; reject: (e: Error) => void } | undefined;
    private closedErr: Error | undefined;
    private static seq = 0;
    private readonly marker = `__upshift_end_${process.pid}_${PsqlSession.seq++}__`;

    constructor(t: PgTarget, db: string) {
        this.s = dockerStream(
            toolArgs(t, "psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo(db)], {
                interactive: true,
            }),
            { stdin: "pipe" },
        );
        this.s.stdout!.setEncoding("utf8");
        this.s.stdout!.on("data", (d: string) => {
            this.buf += d;
            this.pump();
        });
        this.s.done.then(
            () => this.closed(new Error("psql ended")),
            (e: Error) => this.closed(e),
        );
    }

    private closed(e: Error) {
        this.closedErr = e;
        if (this.waiting) {
            this.waiting.reject(e);
            this.waiting = undefined;
        }
    }

    private pump() {
        const i = this.buf.indexOf(this.marker + "\n");
        if (i < 0 || !this.waiting) return;
        const text = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + this.marker.length + 1);
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(text.split("\n").filter((l) => l.length > 0));
    }

    /** Runs SQL (one or more statements); resolves to the non-empty output lines. */
    query(sql: string): Promise<string[]> {
        if (this.closedErr) return Promise.reject(this.closedErr);
        if (this.waiting) return Promise.reject(new Error("psql session busy"));
        return new Promise((resolve, reject) => {
            this.waiting = { resolve, reject };
            this.s.stdin!.write(`${sql.trim().replace(/;?$/, ";")}\n\\echo ${this.marker}\n`);
        });
    }

    async json<T>(sql: string): Promise<T> {
        const lines = await this.query(sql);
        if (lines.length !== 1) throw new Error(`unexpected psql answer (${lines.length} lines)`);
        return JSON.parse(lines[0]) as T;
    }

    /** Ends psql (closing stdin ends its input; an open transaction is rolled back). */
    async close(): Promise<void> {
        this.s.stdin!.end();
        await this.s.done.catch(() => undefined);
    }
}

/**
 * Session settings that make a row's text the same on every major version and server config, so
 * the hash of the old server's rows equals the new one's.
 */
export const STABLE_TEXT_SQL =
    "SET TimeZone='UTC'; SET DateStyle='ISO, YMD'; SET IntervalStyle='postgres'; SET extra_float_digits=3; SET bytea_output='hex'; SET statement_timeout=0";

/**
 * Tables to check and, per table, the expression of a row's text. Columns go in name order (a
 * restore may reorder inherited columns); floats as their binary send form (their text form
 * changed in PostgreSQL 12); money as numeric (its text depends on lc_monetary).
 */
const TABLES_SQL = `
SELECT coalesce(json_agg(json_build_object('key', x.key, 'q', x.q, 'cols', x.cols) ORDER BY x.key), '[]')
FROM (
  SELECT n.nspname || '.' || c.relname AS key, format('%I.%I', n.nspname, c.relname) AS q,
    coalesce((SELECT string_agg(CASE a.atttypid
        WHEN 'float8'::regtype THEN format('float8send(t.%I)', a.attname)
        WHEN 'float4'::regtype THEN format('float4send(t.%I)', a.attname)
        WHEN 'money'::regtype THEN format('t.%I::numeric', a.attname)
        ELSE format('t.%I', a.attname) END, ',' ORDER BY a.attname)
      FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS cols
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
) x`;

/** TABLES_SQL with each table's size (bytes of its main fork, and blocks) for the parallel checks. */
const TABLES_SIZED_SQL = TABLES_SQL.replace(
    "json_build_object('key', x.key, 'q', x.q, 'cols', x.cols)",
    "json_build_object('key', x.key, 'q', x.q, 'cols', x.cols, 'bytes', x.bytes, 'blocks', x.blocks)",
).replace(
    "AS q,\n",
    "AS q,\n    pg_relation_size(c.oid) AS bytes, pg_relation_size(c.oid) / current_setting('block_size')::int AS blocks,\n",
);

/**
 * What the per-table check computes (`--verify`; docs/hooks-cli.md says what each level proves):
 * - "count": the row count only;
 * - "hash" (default): the count and a 64-bit multiset hash: the sum of hashtextextended() of each
 *   row's text (PostgreSQL 11+), several times cheaper than md5 per row;
 * - "full": the count and a 128-bit multiset hash: the sum of md5 of each row's text, as two
 *   64-bit halves (also what servers older than 11 get for "hash").
 * A sum needs no sort and no memory per row (scales to any table) and does not depend on row order.
 */
export type CheckLevel = "count" | "hash" | "full";
export const CHECK_LEVELS: readonly CheckLevel[] = ["count", "hash", "full"];

/** `--verify LEVEL` of pg-dump and pg-migrate (undefined: the default, "hash"). */
export function parseCheckLevel(v: string | undefined): CheckLevel | undefined {
    if (v === undefined) return undefined;
    if (!(CHECK_LEVELS as readonly string[]).includes(v))
        throw new UsageError(`--verify ${v}: expected one of ${CHECK_LEVELS.join(", ")}`);
    return v as CheckLevel;
}

export const VERIFY_USAGE =
    "  --verify L    per-table check: count (rows only), hash (rows + 64-bit row hash; default), full (rows + 128-bit md5 row hash)";

/** The level a server can compute (hashtextextended is PostgreSQL 11+). */
export function effectiveLevel(level: CheckLevel, serverVersionNum: number): CheckLevel {
    return level === "hash" && serverVersionNum < 110000 ? "full" : level;
}

/** The sums of one table (or a block range of it) and its row count, as a JSON object with text sums. */
function partSql(q: string, cols: string, level: CheckLevel, where: string): string {
    if (level === "count") return `SELECT json_build_object('rows', count(*)) FROM ONLY ${q} AS t${where}`;
    if (level === "hash") {
        return `SELECT json_build_object('rows', count(*), 'a', coalesce(sum(hashtextextended(ROW(${cols})::text, 0)), 0)::text) FROM ONLY ${q} AS t${where}`;
    }
    return `SELECT json_build_object('rows', count(*),
  'a', coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text,
  'b', coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text)
FROM (SELECT md5(ROW(${cols})::text) AS h FROM ONLY ${q} AS t${where}) s`;
}

interface Part {
    rows: number | string;
    a?: string;
    b?: string;
}

/** Adds the parts of one table; the hash text is the same as one query over the whole table gives. */
function combine(level: CheckLevel, parts: Part[]): TableCheck {
    let rows = 0;
    let a = 0n,
        b = 0n;
    for (const p of parts) {
        rows += Number(p.rows);
        if (p.a !== undefined) a += BigInt(p.a);
        if (p.b !== undefined) b += BigInt(p.b);
    }
    const hash = level === "count" ? "" : level === "hash" ? `h64:${a}` : `${a}.${b}`;
    return { rows, hash };
}

/** Count and hash of one whole table (the "full" form is the one dump.json files of before levels hold). */
export function tableCheckSql(q: string, cols: string, level: CheckLevel = "full"): string {
    return partSql(q, cols, level, "");
}

const SEQUENCES_SQL = `SELECT coalesce(json_object_agg(schemaname || '.' || sequencename, last_value::text), '{}') FROM pg_sequences`;
const SEQUENCES_SQL_OLD = `SELECT '{}'::json`;

/** Runs the checks of one database in a session (already in the snapshot, if any). */
export async function collectChecks(
    s: PsqlSession,
    serverVersionNum: number,
    level: CheckLevel = "full",
): Promise<DbChecks> {
    const lv = effectiveLevel(level, serverVersionNum);
    await s.query(STABLE_TEXT_SQL);
    const tables = await s.json<{ key: string; q: string; cols: string }[]>(TABLES_SQL);
    const out: DbChecks = { tables: {}, sequences: {}, largeObjects: 0, level: lv };
    for (const t of tables) out.tables[t.key] = combine(lv, [await s.json<Part>(partSql(t.q, t.cols, lv, ""))]);
    // pg_sequences exists from PostgreSQL 10.
    out.sequences = await s.json<Record<string, string | null>>(
        serverVersionNum >= 100000 ? SEQUENCES_SQL : SEQUENCES_SQL_OLD,
    );
    out.largeObjects = Number(await s.json<number>("SELECT to_json(count(*)) FROM pg_largeobject_metadata"));
    return out;
}

/** Tables of at least this size are split into block ranges checked in parallel (PostgreSQL 14+: TID range scans). */
const SPLIT_BYTES = 32 * 1048576;

/**
 * The checks of one database computed by `jobs` sessions at once: tables, and block ranges of the
 * big ones (`ctid` ranges: a TID range scan reads only those blocks), largest first, each
 * session taking the next piece. With `snapshot`, every session imports it (the dump's), so the
 * result is exactly that of one session in it. The result equals collectChecks()'s.
 */
export async function collectChecksParallel(
    t: PgTarget,
    db: string,
    serverVersionNum: number,
    level: CheckLevel,
    jobs: number,
    snapshot?: string,
): Promise<DbChecks> {
    const lv = effectiveLevel(level, serverVersionNum);
    const n = Math.max(1, jobs);
    const sessions: PsqlSession[] = [];
    try {
        for (let i = 0; i < n; i++) sessions.push(new PsqlSession(t, db));
        await Promise.all(
            sessions.map(async (s) => {
                if (snapshot)
                    await s.query(
                        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`,
                    );
                await s.query(STABLE_TEXT_SQL);
            }),
        );
        const first = sessions[0];
        const tables =
            await first.json<
                { key: string; q: string; cols: string; bytes: number | string; blocks: number | string }[]
            >(TABLES_SIZED_SQL);
        const split = serverVersionNum >= 140000 && lv !== "count" ? n : 1;
        const pieces: { key: string; sql: string; bytes: number }[] = [];
        for (const tb of tables) {
            const bytes = Number(tb.bytes),
                blocks = Number(tb.blocks);
            const k = bytes >= SPLIT_BYTES ? Math.min(split * 2, Math.ceil(bytes / SPLIT_BYTES)) : 1;
            if (k <= 1) {
                pieces.push({ key: tb.key, sql: partSql(tb.q, tb.cols, lv, ""), bytes });
                continue;
            }
            const step = Math.ceil(blocks / k);
            for (let i = 0; i < k; i++) {
                // The last range is open: a block added since the size was read is still counted.
                const lo = `t.ctid >= '(${i * step},0)'::tid`;
                const where = i === k - 1 ? ` WHERE ${lo}` : ` WHERE ${lo} AND t.ctid < '(${(i + 1) * step},0)'::tid`;
                pieces.push({
                    key: tb.key,
                    sql: partSql(tb.q, tb.cols, lv, i === 0 ? ` WHERE t.ctid < '(${step},0)'::tid` : where),
                    bytes: bytes / k,
                });
            }
        }
        pieces.sort((x, y) => y.bytes - x.bytes);
        const parts = new Map<string, Part[]>(tables.map((tb) => [tb.key, []]));
        let next = 0;
        await Promise.all(
            sessions.map(async (s) => {
                while (next < pieces.length) {
                    const p = pieces[next++];
                    parts.get(p.key)!.push(await s.json<Part>(p.sql));
                }
            }),
        );
        const out: DbChecks = { tables: {}, sequences: {}, largeObjects: 0, level: lv };
        for (const tb of tables) out.tables[tb.key] = combine(lv, parts.get(tb.key)!);
        out.sequences = await first.json<Record<string, string | null>>(
            serverVersionNum >= 100000 ? SEQUENCES_SQL : SEQUENCES_SQL_OLD,
        );
        out.largeObjects = Number(await first.json<number>("SELECT to_json(count(*)) FROM pg_largeobject_metadata"));
        if (snapshot) await Promise.all(sessions.map((s) => s.query("COMMIT")));
        return out;
    } finally {
        await Promise.all(sessions.map((s) => s.close()));
    }
}

export interface ServerDb {
    name: string;
    oid: string;
}

/** A one-shot query in its own psql helper; the answer is one JSON value. */
export async function queryJson<T>(t: PgTarget, db: string, sql: string): Promise<T> {
    const r = await runTool(t, "psql", [
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        conninfo(db),
        "-c",
        sql,
    ]);
    return JSON.parse(r.stdout.trim()) as T;
}

export async function serverVersionNum(t: PgTarget): Promise<{ num: number; text: string }> {
    const v = await queryJson<{ num: string; text: string }>(
        t,
        "postgres",
        "SELECT json_build_object('num', current_setting('server_version_num'), 'text', current_setting('server_version'))",
    );
    return { num: Number(v.num), text: v.text };
}

/** Non-template databases that accept connections. */
export async function listDatabases(t: PgTarget): Promise<ServerDb[]> {
    return queryJson<ServerDb[]>(
        t,
        "postgres",
        "SELECT coalesce(json_agg(json_build_object('name', datname, 'oid', oid::text) ORDER BY datname), '[]') FROM pg_database WHERE datallowconn AND NOT datistemplate",
    );
}

/** Compares the checks of the target with the dump's; returns one line per difference. */
export function diffChecks(db: string, want: DbChecks, got: DbChecks): string[] {
    const d: string[] = [];
    const lw = want.level ?? "full",
        lg = got.level ?? "full";
    if (lw !== lg) return [`${db}: checks of different levels (${lw} and ${lg}) cannot be compared`];
    for (const [k, w] of Object.entries(want.tables)) {
        const g = got.tables[k];
        if (!g) d.push(`${db}: table ${k} missing (dump has ${w.rows} rows)`);
        else if (g.rows !== w.rows) d.push(`${db}: table ${k} has ${g.rows} rows, dump has ${w.rows}`);
        else if (g.hash !== w.hash)
            d.push(`${db}: table ${k} content differs (same ${w.rows} rows, hash ${g.hash} != ${w.hash})`);
    }
    for (const k of Object.keys(got.tables))
        if (!(k in want.tables)) d.push(`${db}: table ${k} is not in the dump (${got.tables[k].rows} rows)`);
    for (const [k, w] of Object.entries(want.sequences)) {
        if (!(k in got.sequences)) d.push(`${db}: sequence ${k} missing`);
        else if (got.sequences[k] !== w) d.push(`${db}: sequence ${k} is at ${got.sequences[k]}, dump has ${w}`);
    }
    if (got.largeObjects !== want.largeObjects)
        d.push(`${db}: ${got.largeObjects} large objects, dump has ${want.largeObjects}`);
    return d;
}

export function totals(dbs: DumpedDb[]): { tables: number; rows: number; bytes: number } {
    let tables = 0,
        rows = 0,
        bytes = 0;
    for (const db of dbs) {
        bytes += db.bytes;
        for (const t of Object.values(db.checks.tables)) {
            tables++;
            rows += t.rows;
        }
    }
    return { tables, rows, bytes };
}

/** Bytes under a local directory (the dump's size, and progress while pg_dump writes it). */
export function dirBytes(p: string): number {
    let n = 0;
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(p, { withFileTypes: true });
    } catch {
        return 0;
    }
    for (const e of entries) {
        const f = path.join(p, e.name);
        if (e.isDirectory()) n += dirBytes(f);
        else {
            try {
                n += fs.statSync(f).size;
            } catch {
                /* being written */
            }
        }
    }
    return n;
}

export function mb(n: number): string {
    return `${(n / 1048576).toFixed(1)} MB`;
}

/** Every `ms`, logs what `measure` returns (bytes written so far and the rate); stop() ends it. */
export function ticker(op: string, label: string, measure: () => number, ms = progressMs(5000)) {
    const start = Date.now();
    const timer = setInterval(() => {
        const b = measure();
        const s = (Date.now() - start) / 1000;
        info(op, `${label}: ${mb(b)} in ${s.toFixed(0)} s (${mb(b / Math.max(s, 0.001))}/s)`);
    }, ms);
    timer.unref();
    return { stop: () => clearInterval(timer) };
}

/** As ticker(), for a measure that needs a query (e.g. the size of a database being restored). */
export function asyncTicker(op: string, label: string, measure: () => Promise<number>, ms = progressMs(5000)) {
    const start = Date.now();
    let busy = false;
    const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        measure()
            .then(
                (b) => {
                    const s = (Date.now() - start) / 1000;
                    info(op, `${label}: ${mb(b)} in ${s.toFixed(0)} s (${mb(b / Math.max(s, 0.001))}/s)`);
                },
                () => undefined,
            )
            .finally(() => {
                busy = false;
            });
    }, ms);
    timer.unref();
    return { stop: () => clearInterval(timer) };
}

/** Error lines of a psql/pg_restore stderr, scrubbed. */
export function errorLines(stderr: string): string[] {
    return stderr
        .split("\n")
        .filter((l) => /\b(ERROR|FATAL):/.test(l))
        .map((l) => scrubSecrets(l.trim()));
}

export function readManifest(dir: string): DumpManifest {
    const f = path.join(dir, "dump.json");
    let m: DumpManifest;
    try {
        m = JSON.parse(fs.readFileSync(f, "utf8")) as DumpManifest;
    } catch (e) {
        return fail(`no complete dump at ${dir}: cannot read dump.json (${(e as Error).message})`);
    }
    if (m.format !== DUMP_FORMAT) fail(`${f}: format ${JSON.stringify(m.format)} is not ${DUMP_FORMAT}`);
    return m;
}

/** The state and manifest files: written, synced, renamed, the directory synced (core/atomic-file.ts). */
export function writeJsonAtomic(file: string, value: unknown, mode = 0o600): void {
    publishJson(file, value, mode);
}

/** The rows of every user table of one database, as JSON `{ "schema.table": rows }` (extensions' tables left out). */
export const TABLE_COUNTS_SQL = `SELECT coalesce(json_object_agg(k, n ORDER BY k), '{}') FROM (
  SELECT n.nspname || '.' || c.relname AS k,
    (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM ONLY %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint AS n
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
) t`;

/** The databases that accept connections (templates left out), as a JSON array. */
export const DATABASES_SQL =
    "SELECT coalesce(json_agg(datname ORDER BY datname), '[]') FROM pg_database WHERE datallowconn AND NOT datistemplate";

/**
 * One query by `docker exec` of the server container's own psql, over 127.0.0.1 or, with
 * `socket`, its local socket (trusted by the official images' pg_hba.conf, and by initdb's
 * default); PGPASSWORD is copied from our environment when set, never on a command line. The
 * answer is one JSON value. `who` names the server in errors.
 */
export async function psqlJson<T>(
    container: string,
    user: string,
    db: string,
    sql: string,
    who: string,
    what: string,
    opts: { socket?: boolean } = {},
): Promise<T> {
    const host = opts.socket ? [] : ["-h", "127.0.0.1", "-p", "5432"];
    const r = await docker(
        [
            "exec",
            "-e",
            "PGOPTIONS=-c statement_timeout=0 -c lock_timeout=0",
            ...(process.env.PGPASSWORD !== undefined ? ["-e", "PGPASSWORD"] : []),
            container,
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            ...host,
            "-U",
            user,
            "-d",
            conninfo(db),
            "-c",
            sql,
        ],
        { check: false },
    );
    if (r.code !== 0)
        throw new HookError(
            `${who} could not ${what}: ${scrubSecrets(r.stderr).trim().split("\n").slice(-6).join(" | ")}`,
        );
    try {
        return JSON.parse(r.stdout.trim()) as T;
    } catch {
        throw new HookError(`${who} gave an unreadable answer to ${what}: ${r.stdout.slice(0, 200)}`);
    }
}

/** Where a container keeps `datadir`: the volume name (or host path) and the path under it. */
export async function dataMount(
    container: string,
    datadir: string,
): Promise<{ type: string; source: string; sub: string }> {
    const r = await docker(["container", "inspect", "--format", "{{json .Mounts}}", container]);
    const mounts =
        (JSON.parse(r.stdout) as { Type: string; Name?: string; Source: string; Destination: string }[] | null) ?? [];
    const m = mounts
        .filter((x) => datadir === x.Destination || datadir.startsWith(x.Destination.replace(/\/?$/, "/")))
        .sort((a, b) => b.Destination.length - a.Destination.length)[0];
    if (!m) fail(`the data directory ${datadir} of ${container} is not on a volume or bind mount`);
    const source = m.Type === "volume" && m.Name ? m.Name : m.Source;
    return { type: m.Type, source, sub: datadir.slice(m.Destination.replace(/\/$/, "").length) };
}

// The new volume of a major change, as pg-migrate's two paths (dump/restore and pg_upgrade) look at it.

export async function volumeExists(name: string): Promise<boolean> {
    return (await docker(["volume", "inspect", "--format", "{{.Name}}", name], { check: false })).code === 0;
}

/** System identifier of the cluster in a volume ("" if none), with the image's pg_controldata. */
export async function volumeSysid(volume: string, image: string): Promise<string> {
    const r = await docker(
        [
            "run",
            "--rm",
            "--label",
            "upshift.helper=true",
            "--network",
            "none",
            "-v",
            `${volume}:/v`,
            "--entrypoint",
            "sh",
            image,
            "-c",
            'pg_controldata /v 2>/dev/null | sed -n "s/^Database system identifier: *//p"',
        ],
        { check: false },
    );
    return r.stdout.trim();
}

export async function volumeEmpty(volume: string, image: string): Promise<boolean> {
    const r = await docker([
        "run",
        "--rm",
        "--label",
        "upshift.helper=true",
        "--network",
        "none",
        "-v",
        `${volume}:/v`,
        "--entrypoint",
        "sh",
        image,
        "-c",
        "ls -A /v | head -n 1",
    ]);
    return r.stdout.trim() === "";
}

/** The image's environment (its Config.Env). */
export async function imageEnv(image: string): Promise<string[]> {
    const r = await docker(["image", "inspect", "--format", "{{json .Config.Env}}", image]);
    return (JSON.parse(r.stdout) as string[] | null) ?? [];
}

/** PGDATA of the image (where its volume is mounted); the official images' default otherwise. */
export async function imagePgdata(image: string): Promise<string> {
    const v = (await imageEnv(image)).find((e) => e.startsWith("PGDATA="));
    return v ? v.slice("PGDATA=".length) : "/var/lib/postgresql/data";
}
