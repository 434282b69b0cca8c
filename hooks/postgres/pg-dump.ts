// `upshift pg-dump`: roles and every database of a running Postgres (the old major), with the
// row count and a content hash of every table in dump.json, taken in the same snapshot as the
// dump itself. Written to <out>.partial and renamed into place when complete (rerun-safe).
import * as fs from "fs";
import * as path from "path";
import { renameDurable } from "../core/atomic-file";
import { HookCommand, UsageError } from "../core/command";
import { Writers } from "../core/stop-restart";
import {
    CheckLevel,
    collectChecks,
    collectChecksParallel,
    conninfo,
    dirBytes,
    DUMP_FORMAT,
    DumpedDb,
    DumpManifest,
    hostCpus,
    info,
    listDatabases,
    mb,
    parseCheckLevel,
    PgTarget,
    PsqlSession,
    removeLeftoverTools,
    requireRunning,
    runTool,
    serverVersionNum,
    ticker,
    totals,
    VERIFY_USAGE,
    writeJsonAtomic,
} from "./common";
import { parseOptions, requireFlags, runOperation, splitList } from "../core/report";

const OP = "pg-dump";

export interface DumpOptions {
    container: string;
    out: string;
    /** Image whose pg_dump is used (the new major's); default: the container's own image. */
    image?: string;
    user: string;
    stop: string[];
    jobs?: number;
    /** The vendor's procedure: one `pg_dumpall` SQL file (restored with psql). */
    plain?: boolean;
    /** What the per-table checks compute (default "hash"; see CheckLevel). */
    verify?: CheckLevel;
    op?: string;
}

/** Tools version, e.g. "17.6" from "pg_dump (PostgreSQL) 17.6 (Debian 17.6-1)". */
async function toolsVersion(t: PgTarget): Promise<string> {
    const r = await runTool(t, "pg_dump", ["--version"]);
    return (/\)\s+(\d+(?:\.\d+)?)/.exec(r.stdout) ?? [, r.stdout.trim()])[1] as string;
}

/**
 * Stops the writers among `names` (hooks/core/stop-restart.ts: on the ledger first, ones a killed earlier
 * run left stopped taken over); returns them, to start again on failure (`restartAfter`). An interruption of this
 * hook at any later point starts them again: until the hook ends, the old database is the current one.
 */
export async function stopWriters(op: string, names: string[]): Promise<Writers> {
    const writers = new Writers(op, names, { resume: true });
    try {
        await writers.stop();
    } catch (e) {
        // One that would not stop: the others go back up before the step fails.
        throw await writers.restartAfter(e);
    }
    return writers;
}

export async function dumpPostgres(o: DumpOptions): Promise<DumpManifest> {
    const op = o.op ?? OP;
    const started = Date.now();
    const c = await requireRunning(o.container);
    await removeLeftoverTools(op, o.container);
    const out = path.resolve(o.out);
    const partial = `${out}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
    const t: PgTarget = { container: o.container, image: o.image ?? c.imageId, user: o.user, workDir: partial };
    const jobs = o.jobs ?? (await hostCpus());
    const writers = await stopWriters(op, o.stop);
    try {
        const server = await serverVersionNum(t);
        const version = await toolsVersion(t);
        info(
            op,
            `source ${o.container}: PostgreSQL ${server.text}; tools ${version} from ${o.image ?? "the container's image"}; ${jobs} jobs`,
        );
        const dbs = await listDatabases(t);
        const level = o.verify ?? "hash";
        const dumped: DumpedDb[] = [];
        const m: DumpManifest = {
            format: DUMP_FORMAT,
            mode: o.plain ? "plain" : "directory",
            createdAt: new Date().toISOString(),
            source: { container: o.container, serverVersion: server.text, serverVersionNum: server.num },
            tools: { image: o.image ?? c.imageId, version },
            user: o.user,
            jobs,
            databases: dumped,
            seconds: 0,
        };
        if (o.plain) {
            // pg_dumpall has no shared snapshot: the checks are taken first, so a writer that was
            // not stopped makes the restore's verification fail (the safe direction).
            for (const db of dbs) {
                const s = new PsqlSession(t, db.name);
                try {
                    dumped.push({ name: db.name, bytes: 0, checks: await collectChecks(s, server.num, level) });
                } finally {
                    await s.close();
                }
            }
            const tick = ticker(op, "pg_dumpall", () => dirBytes(partial));
            try {
                await runTool(t, "pg_dumpall", ["-f", "/work/dumpall.sql"]);
            } finally {
                tick.stop();
            }
            fs.chmodSync(path.join(partial, "dumpall.sql"), 0o600);
            m.plain = "dumpall.sql";
            if (dumped.length) dumped[0].bytes = fs.statSync(path.join(partial, "dumpall.sql")).size;
        } else {
            await runTool(t, "pg_dumpall", ["--globals-only", "-f", "/work/globals.sql"]);
            // Role password hashes are in there.
            fs.chmodSync(path.join(partial, "globals.sql"), 0o600);
            m.globals = "globals.sql";
            // lz4 (pg_dump 16+) is much faster than gzip at a similar size for table data.
            const compress = Number(version.split(".")[0]) >= 16 ? ["--compress=lz4"] : ["-Z", "1"];
            for (const [i, db] of dbs.entries()) {
                const dir = `db-${i}`;
                const t0 = Date.now();
                const s = new PsqlSession(t, db.name);
                try {
                    // The dump and the checks share one snapshot: the counts are of exactly what is dumped.
                    await s.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
                    const [snapshot] = await s.query("SELECT pg_export_snapshot()");
                    const tick = ticker(op, `dump ${db.name}`, () => dirBytes(path.join(partial, dir)));
                    const dump = runTool(t, "pg_dump", [
                        "-Fd",
                        "-j",
                        String(jobs),
                        "-C",
                        ...compress,
                        `--snapshot=${snapshot}`,
                        "-f",
                        `/work/${dir}`,
                        "-d",
                        conninfo(db.name),
                    ]);
                    // Checks run while pg_dump works, in `jobs` sessions that import the same
                    // snapshot; both finish before the snapshot is released.
                    const checks = collectChecksParallel(t, db.name, server.num, level, jobs, snapshot);
                    const [, ck] = await Promise.all([dump, checks]).finally(() => tick.stop());
                    await s.query("COMMIT");
                    const bytes = dirBytes(path.join(partial, dir));
                    dumped.push({ name: db.name, dir, bytes, checks: ck });
                    const secs = (Date.now() - t0) / 1000;
                    info(
                        op,
                        `dumped ${db.name}: ${Object.keys(ck.tables).length} tables, ${mb(bytes)} in ${secs.toFixed(1)} s (${mb(bytes / Math.max(secs, 0.001))}/s)`,
                    );
                } finally {
                    await s.close();
                }
            }
        }
        m.seconds = Math.round((Date.now() - started) / 100) / 10;
        writeJsonAtomic(path.join(partial, "dump.json"), m);
        // Swap in: an earlier complete dump is replaced only by a complete one.
        const old = `${out}.old`;
        fs.rmSync(old, { recursive: true, force: true });
        if (fs.existsSync(out)) renameDurable(out, old);
        renameDurable(partial, out);
        fs.rmSync(old, { recursive: true, force: true });
        return m;
    } catch (e) {
        // A dump cut off (ENOSPC included) must not keep the disk full; a rerun starts it over anyway.
        fs.rmSync(partial, { recursive: true, force: true });
        throw await writers.restartAfter(e);
    }
}

export const pgDump: HookCommand = {
    name: OP,
    summary: "dump roles and every database of a running Postgres (pg_dump -Fd -j N), with row counts and hashes",
    usage:
        "usage: upshift pg-dump --container C --out DIR [--image IMG] [--user U] [--stop C1,C2] [--jobs N] [--plain] [--verify L]\n" +
        VERIFY_USAGE +
        "\n" +
        "  --image IMG  run pg_dump from IMG (the new major's image, as PostgreSQL advises) on C's network;\n" +
        "               default: C's own image. Env: PGPASSWORD (if the server asks for one).",
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" },
            out: { type: "string" },
            image: { type: "string" },
            user: { type: "string" },
            stop: { type: "string", multiple: true },
            jobs: { type: "string" },
            plain: { type: "boolean" },
            verify: { type: "string" },
        });
        requireFlags(values, "container", "out");
        const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
        if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0))
            throw new UsageError("--jobs must be a positive integer");
        const o: DumpOptions = {
            container: values.container!,
            out: values.out!,
            image: values.image,
            user: values.user ?? "postgres",
            stop: splitList(values.stop),
            jobs,
            plain: values.plain,
            verify: parseCheckLevel(values.verify),
        };
        return runOperation(OP, async () => {
            const m = await dumpPostgres(o);
            const tot = totals(m.databases);
            return {
                out: path.resolve(o.out),
                mode: m.mode,
                databases: m.databases.length,
                ...tot,
                seconds: m.seconds,
                stopped: o.stop,
            };
        });
    },
};
