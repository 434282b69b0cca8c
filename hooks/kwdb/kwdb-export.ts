// hooks/kwdb/: KWDB's major change by EXPORT/IMPORT: kwdb-certs, kwdb-export (this file) and
// kwdb-import, over the private server (private.ts), the copy of an export (copy.ts), the SQL
// client and fingerprints (common.ts) and the meta transform (meta.ts). They use core/ only.
//
// `upshift kwdb-export`: the first half of KWDB's only 2.x -> 3.x path (db-upgrade.md: no direct
// upgrade; deploy 3.x and move the data with EXPORT/IMPORT). Stops the container first (writes end
// there) and works on a private server with no network on the same volumes (kwdb/private.ts):
// records every user database's tables, row counts and content fingerprints, EXPORTs the databases,
// users and cluster settings into an empty dir under the store's extern/, checks counts and content
// again, and copies the export next to the backup (`<out>/data` + `<out>/export.json`), written under
// `<out>.partial` and published (synced, renamed, parent synced) when complete.
import * as fs from "fs";
import * as path from "path";
import { HookCommand, UsageError } from "../core/command";
import { publishDir } from "../core/atomic-file";
import { containerState, docker, startContainer, stopContainer } from "../core/docker";
import {
    census,
    compareCensus,
    compareFingerprints,
    EXPORT_FORMAT,
    ExportManifest,
    fingerprints,
    ident,
    KwdbTarget,
    listDatabases,
    listUsers,
    sql,
    totalRows,
    totalTables,
    waitReady,
} from "./common";
import { copyOut } from "./copy";
import { privateName, removePrivate, startPrivate } from "./private";
import { formatBytes } from "../core/progress";
import { HookError, log, parseOptions, requireFlags, runOperation } from "../core/report";

const OP = "kwdb-export";

const USAGE = `usage: upshift kwdb-export --container C --store PATH --dir NAME --out DIR (--insecure | --certs-dir D)
                          [--stop-after] [--wait-healthy SECONDS]
  Stops C (no client writes from then on), runs C's image once more on C's volumes with no network,
  and there EXPORTs every user database (CSV), the users and the cluster settings into
  PATH/extern/NAME (emptied first: it is ours), with table and row counts and content fingerprints
  in DIR/export.json, and copies it to DIR/data. C is started again afterwards, unless --stop-after
  (the step's case: the new version replaces it) or a failure (then it is always started again).
  In secure mode the root client certificate in D authenticates; no password is used.`;

export interface ExportOptions {
    readonly target: KwdbTarget;
    readonly store: string;
    readonly dir: string;
    readonly out: string;
    readonly stopAfter: boolean;
    readonly waitSeconds: number;
}

/** A directory name for a database's export: its name when plain, else its position. */
export const dbDir = (db: string, i: number) => (/^[A-Za-z0-9_]+$/.test(db) ? db : `db-${i}`);

/** The statements, in order, for the databases given (what the tests assert, and the manifest records). */
export function exportStatements(dir: string, dbs: string[]): string[] {
    // nodelocal://1/<dir> lands in <store>/extern/<dir> (export-data.md, expt_path).
    return [
        ...dbs.map((db, i) => `EXPORT INTO CSV "nodelocal://1/${dir}/${dbDir(db, i)}" FROM DATABASE ${ident(db)}`),
        `EXPORT USERS TO SQL "nodelocal://1/${dir}/users"`,
        `EXPORT CLUSTER SETTING TO SQL "nodelocal://1/${dir}/settings"`,
    ];
}

export async function runExport(o: ExportOptions): Promise<Record<string, unknown>> {
    const started = Date.now();
    const c = o.target.container;
    const out = path.resolve(o.out);
    const partial = `${out}.partial`;
    // A private server left by a killed run means that run had stopped the container.
    const leftover = await removePrivate(c);
    const st = await containerState(c);
    if (!st) throw new HookError(`container ${c} does not exist; check --container`);
    if (st.status === "running") await waitReady(OP, c, o.waitSeconds);
    // Paused or restarting is running too: its server holds the store, and it is started again after.
    const up = ["running", "paused", "restarting"].includes(st.status);
    const wasRunning = up || leftover;
    // Writes stop before the first census, not after the last one: no client write can fall between
    // what is counted and exported and the stop (issue 12, finding 6).
    if (up) {
        log(OP, `stopping ${c}: no client can write to it from here on`);
        await stopContainer(c);
    }
    let failure: unknown;
    let result: Record<string, unknown> | undefined;
    try {
        const t = await startPrivate(OP, o.target, o.waitSeconds);
        result = await exportFrom(t, o, out, partial, started);
    } catch (e) {
        failure = e;
        fs.rmSync(partial, { recursive: true, force: true });
    } finally {
        await docker(["rm", "-f", privateName(c)], { check: false });
        if (wasRunning && (failure !== undefined || !o.stopAfter)) {
            log(OP, `starting ${c} again`);
            const err = await startContainer(c);
            if (err !== undefined) {
                const why = `${c} could not be started again (${err}); start it by hand`;
                failure = new HookError(failure ? `${(failure as Error).message}; and ${why}` : why);
            }
        }
    }
    if (failure !== undefined) throw failure;
    if (o.stopAfter) log(OP, `${c} stays stopped: writes after the export would not reach the new version`);
    return { ...result, stopped: o.stopAfter && wasRunning };
}

async function exportFrom(
    t: KwdbTarget,
    o: ExportOptions,
    out: string,
    partial: string,
    started: number,
): Promise<Record<string, unknown>> {
    const extern = `${o.store.replace(/\/$/, "")}/extern/${o.dir}`;
    // The target must be empty (db-upgrade.md); the dir name is ours, so a rerun clears its own leftovers.
    await docker(["exec", t.container, "rm", "-rf", extern]);

    const dbs = await listDatabases(t);
    const users = await listUsers(t);
    const before = await census(t, dbs);
    const prints = await fingerprints(t, before);
    const exported = Object.keys(before);
    log(
        OP,
        `${exported.length} user databases (${totalTables(before)} tables, ${totalRows(before)} rows), ${users.length} users`,
    );
    const statements = exportStatements(o.dir, exported);
    const skipped: string[] = [];
    for (const s of statements) {
        log(OP, s);
        try {
            await sql(t, s);
        } catch (e) {
            // EXPORT USERS / CLUSTER SETTING came with 2.2 (2.2.0 release notes, "Import/Export"): older
            // servers reject them. Users are then written from SHOW USERS; settings are reported.
            if (s.startsWith("EXPORT INTO") || !/syntax error|unimplemented|not supported/i.test((e as Error).message))
                throw e;
            log(
                OP,
                `this KWDB cannot run \`${s.split(" TO ")[0]}\`: ${s.includes("USERS") ? "users are taken from SHOW USERS instead" : "cluster settings must be set again by hand on the new version"}`,
            );
            skipped.push(s);
        }
    }
    // Nobody can reach the private server, so nothing should change; counts and content are checked
    // again all the same: an export that does not match what was counted is never kept.
    const after = await census(t, exported);
    const moved = [...compareCensus(before, after), ...compareFingerprints(prints, await fingerprints(t, after))];
    if (moved.length) {
        throw new HookError(
            `data changed while exporting (${moved.slice(0, 3).join("; ")}); stop the clients writing to KWDB and rerun`,
        );
    }

    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
    const bytes = await copyOut(t.container, extern, partial, `${OP}: copy ${extern} to the backup`);
    fs.renameSync(path.join(partial, path.basename(extern)), path.join(partial, "data"));
    if (skipped.some((s) => s.startsWith("EXPORT USERS")) && users.length) {
        // The same statements EXPORT USERS writes (no passwords either way).
        fs.mkdirSync(path.join(partial, "data", "users"), { recursive: true });
        fs.writeFileSync(
            path.join(partial, "data", "users", "users.sql"),
            users.map((u) => `CREATE USER ${ident(u)};\n`).join(""),
        );
    }
    const manifest: ExportManifest = {
        format: EXPORT_FORMAT,
        createdAt: new Date().toISOString(),
        container: o.target.container,
        dir: o.dir,
        databases: before,
        fingerprints: prints,
        users,
        statements: statements.filter((s) => !skipped.includes(s)),
        seconds: Math.round((Date.now() - started) / 100) / 10,
    };
    fs.writeFileSync(path.join(partial, "export.json"), JSON.stringify(manifest, null, 2) + "\n", { mode: 0o600 });
    // Every file synced, renamed into place, the parent synced (finding 11).
    publishDir(partial, out, { replace: true });
    log(OP, `export kept at ${out} (${formatBytes(bytes)})`);
    return {
        out,
        databases: exported.length,
        tables: totalTables(before),
        rows: totalRows(before),
        users: users.length,
        bytes,
        settingsExported: !skipped.some((s) => s.startsWith("EXPORT CLUSTER")),
        seconds: manifest.seconds,
    };
}

export const kwdbExport: HookCommand = {
    name: OP,
    summary: "EXPORT every KWDB user database, users and cluster settings, with row counts, next to the backup",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" },
            store: { type: "string" },
            dir: { type: "string" },
            out: { type: "string" },
            insecure: { type: "boolean" },
            "certs-dir": { type: "string" },
            "stop-after": { type: "boolean" },
            "wait-healthy": { type: "string" },
        });
        requireFlags(values, "container", "store", "dir", "out");
        if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(values.dir!))
            throw new UsageError("--dir must be one plain directory name (letters, digits, _ . + -)");
        if (Boolean(values.insecure) === Boolean(values["certs-dir"]))
            throw new UsageError("give exactly one of --insecure or --certs-dir D (the server's own mode)");
        const wait = Number(values["wait-healthy"] ?? "600");
        if (!Number.isFinite(wait) || wait < 0) throw new UsageError("--wait-healthy must be a number of seconds");
        return runOperation(OP, () =>
            runExport({
                target: { container: values.container!, certsDir: values["certs-dir"] },
                store: values.store!,
                dir: values.dir!,
                out: values.out!,
                stopAfter: Boolean(values["stop-after"]),
                waitSeconds: wait,
            }),
        );
    },
};
