// `upshift kwdb-export`: the first half of KWDB's only 2.x -> 3.x path (db-upgrade.md: no direct
// upgrade; deploy 3.x and move the data with EXPORT/IMPORT). Records every user database's tables
// and row counts, EXPORTs the databases, users and cluster settings into an empty dir under the
// store's extern/, checks nothing was written meanwhile, and copies the export next to the backup
// (`<out>/data` + `<out>/export.json`), written under `<out>.partial` and renamed when complete.
import * as fs from "fs";
import * as path from "path";
import { HookCommand, UsageError } from "./command";
import { docker } from "./docker";
import {
    census, compareCensus, EXPORT_FORMAT, ExportManifest, ident, KwdbTarget, listDatabases, listUsers, sql, totalRows, totalTables, waitReady,
} from "./kwdb-common";
import { copyOut } from "./kwdb-copy";
import { formatBytes } from "./progress";
import { HookError, log, parseOptions, runOperation } from "./report";

const OP = "kwdb-export";

const USAGE = `usage: upshift kwdb-export --container C --store PATH --dir NAME --out DIR (--insecure | --certs-dir D)
                          [--stop-after] [--wait-healthy SECONDS]
  EXPORTs every user database (CSV), the users and the cluster settings of the running KWDB in C into
  PATH/extern/NAME (emptied first: it is ours), with table and row counts in DIR/export.json, and
  copies it to DIR/data. --stop-after stops C once the export is safe (no write can be lost after it).
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
    const t = o.target;
    await waitReady(OP, t.container, o.waitSeconds);
    const extern = `${o.store.replace(/\/$/, "")}/extern/${o.dir}`;
    // The target must be empty (db-upgrade.md); the dir name is ours, so a rerun clears its own leftovers.
    await docker(["exec", t.container, "rm", "-rf", extern]);

    const dbs = await listDatabases(t);
    const users = await listUsers(t);
    const before = await census(t, dbs);
    const exported = Object.keys(before);
    log(OP, `${exported.length} user databases (${totalTables(before)} tables, ${totalRows(before)} rows), ${users.length} users`);
    const statements = exportStatements(o.dir, exported);
    const skipped: string[] = [];
    for (const s of statements) {
        log(OP, s);
        try {
            await sql(t, s);
        } catch (e) {
            // EXPORT USERS / CLUSTER SETTING came with 2.2 (2.2.0 release notes, "Import/Export"): older
            // servers reject them. Users are then written from SHOW USERS; settings are reported.
            if (s.startsWith("EXPORT INTO") || !/syntax error|unimplemented|not supported/i.test((e as Error).message)) throw e;
            log(OP, `this KWDB cannot run \`${s.split(" TO ")[0]}\`: ${s.includes("USERS") ? "users are taken from SHOW USERS instead" : "cluster settings must be set again by hand on the new version"}`);
            skipped.push(s);
        }
    }
    // Counts are taken before and after: a write during the export would make the import's check
    // fail later; say it now, while the old version still runs.
    const after = await census(t, exported);
    const moved = compareCensus(before, after);
    if (moved.length) {
        throw new HookError(`data changed while exporting (${moved.slice(0, 3).join("; ")}); stop the clients writing to KWDB and rerun`);
    }

    const out = path.resolve(o.out);
    const partial = `${out}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
    const bytes = await copyOut(t.container, extern, partial, `${OP}: copy ${extern} to the backup`);
    fs.renameSync(path.join(partial, path.basename(extern)), path.join(partial, "data"));
    if (skipped.some((s) => s.startsWith("EXPORT USERS")) && users.length) {
        // The same statements EXPORT USERS writes (no passwords either way).
        fs.mkdirSync(path.join(partial, "data", "users"), { recursive: true });
        fs.writeFileSync(path.join(partial, "data", "users", "users.sql"), users.map((u) => `CREATE USER ${ident(u)};\n`).join(""));
    }
    const manifest: ExportManifest = {
        format: EXPORT_FORMAT, createdAt: new Date().toISOString(), container: t.container, dir: o.dir,
        databases: before, users, statements: statements.filter((s) => !skipped.includes(s)), seconds: Math.round((Date.now() - started) / 100) / 10,
    };
    fs.writeFileSync(path.join(partial, "export.json"), JSON.stringify(manifest, null, 2) + "\n");
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(partial, out);
    log(OP, `export kept at ${out} (${formatBytes(bytes)})`);
    if (o.stopAfter) {
        // Writes after this point would not reach the new version: the old one stops here.
        log(OP, `stopping ${t.container}`);
        await docker(["stop", "--time", "120", t.container]);
    }
    return {
        out, databases: exported.length, tables: totalTables(before), rows: totalRows(before), users: users.length, bytes,
        stopped: o.stopAfter, settingsExported: !skipped.some((s) => s.startsWith("EXPORT CLUSTER")), seconds: manifest.seconds,
    };
}

export const kwdbExport: HookCommand = {
    name: OP,
    summary: "EXPORT every KWDB user database, users and cluster settings, with row counts, next to the backup",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" }, store: { type: "string" }, dir: { type: "string" }, out: { type: "string" },
            insecure: { type: "boolean" }, "certs-dir": { type: "string" }, "stop-after": { type: "boolean" }, "wait-healthy": { type: "string" },
        });
        for (const k of ["container", "store", "dir", "out"] as const) if (!values[k]) throw new UsageError(`--${k} is required`);
        if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(values.dir!)) throw new UsageError("--dir must be one plain directory name (letters, digits, _ . + -)");
        if (Boolean(values.insecure) === Boolean(values["certs-dir"])) throw new UsageError("give exactly one of --insecure or --certs-dir D (the server's own mode)");
        const wait = Number(values["wait-healthy"] ?? "600");
        if (!Number.isFinite(wait) || wait < 0) throw new UsageError("--wait-healthy must be a number of seconds");
        return runOperation(OP, () => runExport({
            target: { container: values.container!, certsDir: values["certs-dir"] }, store: values.store!, dir: values.dir!,
            out: values.out!, stopAfter: Boolean(values["stop-after"]), waitSeconds: wait,
        }));
    },
};
