// `upshift kwdb-import`: the second half of the 2.x -> 3.x path. Copies a kwdb-export into the new
// KWDB's store (extern/<dir>), strips PARTITION INTERVAL from meta.sql for 3.1+ (product-catalog.md),
// IMPORTs databases, users and cluster settings, then checks tables and row counts against the
// numbers recorded at export time. Passwords are not exported (export-data.md): the users who
// need a new one are listed.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookCommand, UsageError } from "./command";
import { docker } from "./docker";
import {
    census, compareCensus, ExportManifest, ident, KwdbTarget, listDatabases, listUsers, readExportManifest, sql, totalRows, totalTables, waitReady,
} from "./kwdb-common";
import { copyIn } from "./kwdb-copy";
import { dbDir } from "./kwdb-export";
import { stripPartitionInterval } from "./kwdbMeta";
import { HookError, log, parseOptions, runOperation } from "./report";

const OP = "kwdb-import";

const USAGE = `usage: upshift kwdb-import --container C --store PATH --from DIR (--insecure | --certs-dir D)
                          [--strip-partition-interval] [--wait-healthy SECONDS]
  Copies the export in DIR (from kwdb-export) into PATH/extern/<its dir> of the running KWDB in C,
  removes PARTITION INTERVAL from every meta.sql when asked (3.1+), IMPORTs databases, users and
  cluster settings, and verifies tables and row counts against DIR/export.json (exit 1 on a difference).`;

export interface ImportOptions {
    readonly target: KwdbTarget;
    readonly store: string;
    readonly from: string;
    readonly stripPartitionInterval: boolean;
    readonly waitSeconds: number;
}

/** Every meta.sql under dir, relative paths. */
function metaFiles(dir: string): string[] {
    const found: string[] = [];
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const r = path.join(rel, e.name);
            if (e.isDirectory()) walk(r);
            else if (e.name === "meta.sql") found.push(r);
        }
    };
    walk("");
    return found.sort();
}

/** The one .sql file EXPORT USERS / EXPORT CLUSTER SETTING wrote in `sub` (names per export-data.md). */
function sqlFileIn(data: string, sub: string, fallback: string): string | undefined {
    const d = path.join(data, sub);
    if (!fs.existsSync(d)) return undefined;
    if (fs.statSync(d).isFile()) return sub;
    const files = fs.readdirSync(d).filter((f) => f.endsWith(".sql")).sort();
    return `${sub}/${files.includes(fallback) ? fallback : files[0] ?? fallback}`;
}

/** The statements, in order (what the tests assert). */
export function importStatements(m: ExportManifest, data: string, dbs: string[]): string[] {
    const all = Object.keys(m.databases);
    const users = sqlFileIn(data, "users", "users.sql");
    const settings = sqlFileIn(data, "settings", "clustersetting.sql");
    return [
        ...dbs.map((db) => `IMPORT DATABASE CSV DATA ("nodelocal://1/${m.dir}/${dbDir(db, all.indexOf(db))}")`),
        ...(users && m.users.length ? [`IMPORT USERS SQL DATA ("nodelocal://1/${m.dir}/${users}")`] : []),
        ...(settings ? [`IMPORT CLUSTER SETTING SQL DATA ("nodelocal://1/${m.dir}/${settings}")`] : []),
    ];
}

export async function runImport(o: ImportOptions): Promise<Record<string, unknown>> {
    const started = Date.now();
    const t = o.target;
    const from = path.resolve(o.from);
    const m = readExportManifest(from);
    const data = path.join(from, "data");
    await waitReady(OP, t.container, o.waitSeconds);
    const extern = `${o.store.replace(/\/$/, "")}/extern`;
    const marker = `${extern}/.upshift-import-${m.dir}`;

    // The target must be the new, empty store. Databases there are ours only if an earlier run of this
    // import left its marker; anything else is refused rather than overwritten.
    const ours = (await docker(["exec", t.container, "test", "-e", marker], { check: false })).code === 0;
    const present = new Set(await listDatabases(t));
    const todo: string[] = [];
    for (const db of Object.keys(m.databases)) {
        if (!present.has(db)) { todo.push(db); continue; }
        const have = await census(t, [db]);
        if (!compareCensus({ [db]: m.databases[db] }, have).length) { log(OP, `${db} already imported (counts match)`); continue; }
        const empty = !Object.keys(have[db]?.tables ?? {}).length;
        if (!ours && !empty) {
            throw new HookError(`database ${db} already exists in ${t.container} with other content: the import target must be the new, empty store; nothing was changed`);
        }
        log(OP, `dropping ${ours ? "the partial import of" : "the empty"} ${db} before importing it`);
        await sql(t, `DROP DATABASE ${ident(db)} CASCADE`);
        todo.push(db);
    }

    await docker(["exec", t.container, "rm", "-rf", `${extern}/${m.dir}`]);
    await docker(["exec", t.container, "mkdir", "-p", `${extern}/${m.dir}`]);
    await copyIn(data, t.container, `${extern}/${m.dir}`, `${OP}: copy the export into ${t.container}`);
    let removed = 0;
    if (o.stripPartitionInterval) {
        // The export next to the backup stays as KWDB wrote it; only the copy in the new store changes.
        const staging = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-kwdb-meta-"));
        try {
            for (const rel of metaFiles(data)) {
                const r = stripPartitionInterval(fs.readFileSync(path.join(data, rel), "utf8"));
                if (!r.removed) continue;
                fs.mkdirSync(path.join(staging, path.dirname(rel)), { recursive: true });
                fs.writeFileSync(path.join(staging, rel), r.text);
                log(OP, `${rel}: removed ${r.removed} PARTITION INTERVAL clause${r.removed > 1 ? "s" : ""}`);
                removed += r.removed;
            }
            if (removed) await copyIn(staging, t.container, `${extern}/${m.dir}`, `${OP}: rewritten meta.sql`);
        } finally {
            fs.rmSync(staging, { recursive: true, force: true });
        }
    }
    await docker(["exec", t.container, "touch", marker]);

    const existingUsers = new Set(await listUsers(t));
    const statements = importStatements(m, data, todo)
        // A rerun after the users were imported must not fail on "user exists".
        .filter((s) => !(s.startsWith("IMPORT USERS") && m.users.every((u) => existingUsers.has(u))));
    for (const s of statements) {
        log(OP, s);
        await sql(t, s);
    }

    const now = await census(t, Object.keys(m.databases));
    const diffs = compareCensus(m.databases, now);
    if (diffs.length) {
        throw new HookError(`the import does not match the export (${diffs.length} difference${diffs.length > 1 ? "s" : ""}: ${diffs.slice(0, 5).join("; ")}); `
            + `the old store is retained and the export is kept in ${from}`);
    }
    const missingUsers = m.users.filter((u) => !existingUsers.has(u));
    const afterUsers = new Set(await listUsers(t));
    const notImported = missingUsers.filter((u) => !afterUsers.has(u));
    if (notImported.length) throw new HookError(`users not imported: ${notImported.join(", ")}`);
    if (m.users.length) {
        log(OP, `passwords are not exported (KWDB export-data.md): reset them with ALTER USER <name> WITH PASSWORD for: ${m.users.join(", ")}`);
    }
    return {
        databases: Object.keys(m.databases).length, tables: totalTables(now), rows: totalRows(now), imported: todo,
        partitionIntervalRemoved: removed, usersToReset: m.users, seconds: Math.round((Date.now() - started) / 100) / 10,
    };
}

export const kwdbImport: HookCommand = {
    name: OP,
    summary: "IMPORT a kwdb-export into the new KWDB (meta.sql fixed for 3.1+), verify tables and row counts",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" }, store: { type: "string" }, from: { type: "string" },
            insecure: { type: "boolean" }, "certs-dir": { type: "string" }, "strip-partition-interval": { type: "boolean" },
            "wait-healthy": { type: "string" },
        });
        for (const k of ["container", "store", "from"] as const) if (!values[k]) throw new UsageError(`--${k} is required`);
        if (Boolean(values.insecure) === Boolean(values["certs-dir"])) throw new UsageError("give exactly one of --insecure or --certs-dir D (the server's own mode)");
        const wait = Number(values["wait-healthy"] ?? "900");
        if (!Number.isFinite(wait) || wait < 0) throw new UsageError("--wait-healthy must be a number of seconds");
        return runOperation(OP, () => runImport({
            target: { container: values.container!, certsDir: values["certs-dir"] }, store: values.store!, from: values.from!,
            stripPartitionInterval: Boolean(values["strip-partition-interval"]), waitSeconds: wait,
        }));
    },
};
