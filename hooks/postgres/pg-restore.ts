// `upshift pg-restore`: restores a pg-dump (roles, then each database with pg_restore -j N) into
// a running Postgres (the new major) and verifies databases, tables, row counts, content hashes,
// sequences and large objects against dump.json.
//
// Rerun safety: progress is kept per target cluster (its system identifier) in a state file next
// to the dump. A database this operation created and did not finish is dropped and restored
// again; a database that existed before (e.g. created empty by POSTGRES_DB) is only used when it
// is empty, and is never dropped; a finished one is only verified again; anything else is refused
// before the target is touched.
import * as fs from "fs";
import * as path from "path";
import { HookCommand, UsageError } from "../core/command";
import {
    asyncTicker,
    collectChecksParallel,
    diffChecks,
    DumpManifest,
    errorLines,
    fail,
    hostCpus,
    info,
    listDatabases,
    PgTarget,
    PsqlSession,
    queryJson,
    quoteIdent,
    quoteLiteral,
    readManifest,
    removeLeftoverTools,
    requireRunning,
    runTool,
    serverVersionNum,
    totals,
    writeJsonAtomic,
} from "./common";
import { parseOptions, requireFlags, runOperation } from "../core/report";

const OP = "pg-restore";

export interface RestoreOptions {
    container: string;
    from: string;
    /** Image whose psql/pg_restore are used; default: the target container's own image. */
    image?: string;
    user: string;
    jobs?: number;
    op?: string;
}

type DbState = { state: "creating" | "restoring" | "done"; preexisting: boolean; oid?: string; dumpCreatedAt: string };
interface RestoreState {
    format: "upshift-pg-restore-state/1";
    systemIdentifier: string;
    dbs: Record<string, DbState>;
}

/**
 * Session settings of pg_restore's connections (the server's own config is not touched): commits
 * need not wait for the WAL flush (a crash before the end means a redo, and the verification
 * reads what the server really kept) and index builds get more memory, per job.
 */
const RESTORE_PGOPTIONS = "-c synchronous_commit=off -c maintenance_work_mem=256MB";

type Action = "create" | "recreate" | "into" | "reload" | "verify";

export interface RestoreResult {
    databases: number;
    tables: number;
    rows: number;
    actions: Record<string, Action>;
    seconds: number;
}

/** Counts user tables and large objects: 0 means an empty database that may be restored into. */
const CONTENT_SQL = `SELECT to_json((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%') + (SELECT count(*) FROM pg_largeobject_metadata))`;

function statePath(from: string, sysid: string): string {
    return `${path.resolve(from)}.restore-${sysid}.json`;
}

/** Runs psql on a SQL file of the dump; fails on any error except "already exists" (roles). */
async function psqlFile(op: string, t: PgTarget, file: string, tolerate: RegExp): Promise<void> {
    const r = await runTool(t, "psql", ["-X", "-q", "-d", "postgres", "-f", `/work/${file}`], { check: false });
    const errs = errorLines(r.stderr).filter((l) => !tolerate.test(l));
    const ignored = errorLines(r.stderr).length - errs.length;
    if (ignored)
        info(op, `${file}: ${ignored} expected error(s) ignored (objects that already exist, e.g. the bootstrap role)`);
    if (r.code !== 0 || errs.length)
        fail(`${file} could not be applied: ${errs.slice(0, 5).join(" | ") || `psql exit ${r.code}`}`);
}

export async function restorePostgres(o: RestoreOptions): Promise<RestoreResult> {
    const op = o.op ?? OP;
    const started = Date.now();
    const from = path.resolve(o.from);
    const m: DumpManifest = readManifest(from);
    const c = await requireRunning(o.container);
    await removeLeftoverTools(op, o.container);
    const t: PgTarget = {
        container: o.container,
        image: o.image ?? c.imageId,
        user: o.user,
        workDir: from,
        workReadOnly: true,
    };
    const jobs = o.jobs ?? (await hostCpus());
    const server = await serverVersionNum(t);
    const sysid = await queryJson<string>(
        t,
        "postgres",
        "SELECT to_json(system_identifier::text) FROM pg_control_system()",
    );
    const sf = statePath(from, sysid);
    const state: RestoreState = fs.existsSync(sf)
        ? (JSON.parse(fs.readFileSync(sf, "utf8")) as RestoreState)
        : { format: "upshift-pg-restore-state/1", systemIdentifier: sysid, dbs: {} };
    const save = () => writeJsonAtomic(sf, state);
    info(
        op,
        `target ${o.container}: PostgreSQL ${server.text} (system ${sysid}); dump of PostgreSQL ${m.source.serverVersion} from ${m.createdAt}; ${jobs} jobs`,
    );

    // Decide every database's action first: a refusal leaves the target untouched.
    const existing = new Map((await listDatabases(t)).map((d) => [d.name, d.oid]));
    const actions: Record<string, Action> = {};
    const refusals: string[] = [];
    for (const db of m.databases) {
        const oid = existing.get(db.name);
        const st = state.dbs[db.name];
        if (oid === undefined) actions[db.name] = "create";
        else if (st && (st.oid === oid || (st.oid === undefined && st.state === "creating"))) {
            actions[db.name] = st.state === "done" ? "verify" : st.preexisting ? "reload" : "recreate";
        } else {
            const n = await queryJson<number>(t, db.name, CONTENT_SQL);
            if (n > 0)
                refusals.push(
                    `database ${db.name} already exists in ${o.container} with ${n} tables/objects that upshift did not restore`,
                );
            else actions[db.name] = "into";
        }
    }
    if (m.mode === "plain" && Object.values(actions).some((a) => a === "reload" || a === "recreate")) {
        refusals.push("a plain (pg_dumpall) restore cannot resume a partial one: restore into a fresh cluster");
    }
    if (refusals.length) fail(`refusing to restore: ${refusals.join("; ")}`);

    if (m.mode === "plain") {
        if (Object.values(actions).some((a) => a !== "verify")) {
            for (const db of m.databases)
                if (actions[db.name] !== "verify")
                    state.dbs[db.name] = {
                        state: "restoring",
                        preexisting: actions[db.name] === "into",
                        oid: existing.get(db.name),
                        dumpCreatedAt: m.createdAt,
                    };
            save();
            info(op, "restoring the pg_dumpall file with psql (the vendor's procedure)");
            await psqlFile(op, t, m.plain!, /already exists/);
            const now = new Map((await listDatabases(t)).map((d) => [d.name, d.oid]));
            for (const db of m.databases) if (state.dbs[db.name]) state.dbs[db.name].oid = now.get(db.name);
            save();
        }
    } else if (Object.values(actions).some((a) => a !== "verify")) {
        // Not on a verify-only rerun: roles changed since (e.g. a new password) are left alone.
        await psqlFile(op, t, m.globals!, /role .* already exists/);
    }

    const diffs: string[] = [];
    for (const db of m.databases) {
        const a = actions[db.name];
        const t0 = Date.now();
        if (m.mode === "directory" && a !== "verify") {
            const archive = `/work/${db.dir}`;
            const base = ["-j", String(jobs), "--exit-on-error"];
            if (a === "recreate") {
                info(op, `dropping ${db.name}: an unfinished restore of ours`);
                const force = server.num >= 130000 ? " WITH (FORCE)" : "";
                await runTool(t, "psql", [
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    "postgres",
                    "-c",
                    `DROP DATABASE ${quoteIdent(db.name)}${force}`,
                ]);
            }
            // Progress: the size of the database as pg_restore fills it.
            const tick = asyncTicker(op, `restore ${db.name}`, () =>
                queryJson<number>(
                    t,
                    "postgres",
                    `SELECT to_json(coalesce(sum(pg_database_size(oid)), 0)) FROM pg_database WHERE datname = ${quoteLiteral(db.name)}`,
                ),
            );
            try {
                if (a === "create" || a === "recreate") {
                    state.dbs[db.name] = { state: "creating", preexisting: false, dumpCreatedAt: m.createdAt };
                    save();
                    // -C: CREATE DATABASE with the dump's encoding, locale, owner, ACLs and settings.
                    await runTool(t, "pg_restore", [...base, "-C", "-d", "postgres", archive], {
                        echo: true,
                        pgoptions: RESTORE_PGOPTIONS,
                    });
                } else {
                    state.dbs[db.name] = {
                        state: "restoring",
                        preexisting: true,
                        oid: existing.get(db.name),
                        dumpCreatedAt: m.createdAt,
                    };
                    save();
                    // Into a database that existed (empty); on a rerun, --clean drops only the dump's own objects.
                    const clean = a === "reload" ? ["--clean", "--if-exists"] : [];
                    await runTool(t, "pg_restore", [...base, ...clean, "-d", db.name, archive], {
                        echo: true,
                        pgoptions: RESTORE_PGOPTIONS,
                    });
                }
            } finally {
                tick.stop();
            }
            const now = await listDatabases(t);
            state.dbs[db.name] = {
                ...state.dbs[db.name],
                state: "restoring",
                oid: now.find((d) => d.name === db.name)?.oid,
            };
            save();
        }
        const s = new PsqlSession(t, db.name);
        try {
            // The planner has no statistics after a restore; the application's first queries need them.
            if (a !== "verify") await s.query("ANALYZE");
            // The dump's level; in parallel sessions (tables and block ranges of the big ones).
            const got = await collectChecksParallel(t, db.name, server.num, db.checks.level ?? "full", jobs);
            const d = diffChecks(db.name, db.checks, got);
            if (d.length === 0) {
                state.dbs[db.name] = {
                    ...state.dbs[db.name],
                    state: "done",
                    oid: state.dbs[db.name]?.oid ?? existing.get(db.name),
                    preexisting: state.dbs[db.name]?.preexisting ?? true,
                    dumpCreatedAt: state.dbs[db.name]?.dumpCreatedAt ?? m.createdAt,
                };
                save();
            }
            diffs.push(...d);
            info(
                op,
                `${a === "verify" ? "verified (restored earlier)" : "restored"} ${db.name}: ${Object.keys(got.tables).length} tables, ` +
                    `${d.length ? `${d.length} DIFFERENCE(S)` : "counts and hashes equal the dump"} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
            );
        } finally {
            await s.close();
        }
    }
    if (diffs.length) {
        for (const d of diffs) info(op, `verify: ${d}`);
        fail(
            `verification failed: ${diffs.length} difference(s) from the dump: ${diffs.slice(0, 5).join("; ")}${diffs.length > 5 ? "; ..." : ""}`,
        );
    }
    const tot = totals(m.databases);
    return {
        databases: m.databases.length,
        tables: tot.tables,
        rows: tot.rows,
        actions,
        seconds: Math.round((Date.now() - started) / 100) / 10,
    };
}

export const pgRestore: HookCommand = {
    name: OP,
    summary: "restore a pg-dump into a running Postgres (pg_restore -j N) and verify counts and hashes",
    usage:
        "usage: upshift pg-restore --container C --from DIR [--image IMG] [--user U] [--jobs N]\n" +
        "  --image IMG  run psql/pg_restore from IMG on C's network; default: C's own image.\n" +
        "  Env: PGPASSWORD (if the server asks for one).",
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" },
            from: { type: "string" },
            image: { type: "string" },
            user: { type: "string" },
            jobs: { type: "string" },
        });
        requireFlags(values, "container", "from");
        const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
        if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0))
            throw new UsageError("--jobs must be a positive integer");
        const o: RestoreOptions = {
            container: values.container!,
            from: values.from!,
            image: values.image,
            user: values.user ?? "postgres",
            jobs,
        };
        return runOperation(OP, async () => ({
            container: o.container,
            from: path.resolve(o.from),
            ...(await restorePostgres(o)),
            verified: true,
        }));
    },
};
