// `upshift kwdb-import`: the second half of the 2.x -> 3.x path. Copies a kwdb-export into the new
// KWDB's store (extern/<dir>), strips PARTITION INTERVAL from meta.sql for 3.1+ (product-catalog.md),
// IMPORTs databases, users and cluster settings, then checks tables and row counts against the
// numbers recorded at export time. Passwords are not exported (export-data.md): the users who
// need a new one are listed. Which databases it has imported is recorded per database in the new
// store: a rerun redoes only an unverified import of its own, and never drops a verified one.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookCommand, UsageError } from "../core/command";
import { docker } from "../core/docker";
import {
    census,
    compareCensus,
    DbCensus,
    ExportManifest,
    ident,
    KwdbTarget,
    listDatabases,
    listUsers,
    readExportManifest,
    sql,
    totalRows,
    totalTables,
    waitReady,
} from "./common";
import { copyIn } from "./copy";
import { dbDir } from "./kwdb-export";
import { stripPartitionInterval } from "./meta";
import { HookError, log, parseOptions, RefusedError, requireFlags, runOperation } from "../core/report";

const OP = "kwdb-import";

const USAGE = `usage: upshift kwdb-import --container C --store PATH --from DIR (--insecure | --certs-dir D)
                          [--strip-partition-interval] [--wait-healthy SECONDS]
  Copies the export in DIR (from kwdb-export) into PATH/extern/<its dir> of the running KWDB in C,
  removes PARTITION INTERVAL from every meta.sql when asked (3.1+), IMPORTs databases, users and
  cluster settings, and verifies tables and row counts against DIR/export.json (exit 1 on a difference).
  Per database it records in PATH/extern/.upshift-import-<dir>.json "importing" (redone by a rerun)
  or "imported" (verified: never dropped). Exit 3, nothing changed, when an imported database has
  changed or is gone since, or the target holds a database with other data.`;

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
    const files = fs
        .readdirSync(d)
        .filter((f) => f.endsWith(".sql"))
        .sort();
    return `${sub}/${files.includes(fallback) ? fallback : (files[0] ?? fallback)}`;
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

const STATE_FORMAT = "upshift-kwdb-import/1";
interface ImportState {
    readonly format: typeof STATE_FORMAT;
    readonly dir: string;
    /** Per database: "importing" (IMPORT started, not verified) or "imported" (verified: never dropped). */
    readonly databases: Record<string, "importing" | "imported">;
}

async function readState(t: KwdbTarget, file: string, dir: string): Promise<ImportState> {
    const r = await docker(["exec", t.container, "cat", file], { check: false });
    if (r.code !== 0) {
        if (/no such file/i.test(r.stderr)) return { format: STATE_FORMAT, dir, databases: {} };
        throw new HookError(`cannot read ${file} in ${t.container}: ${r.stderr.trim().split("\n").pop()}`);
    }
    let s: ImportState;
    try {
        s = JSON.parse(r.stdout) as ImportState;
    } catch (e) {
        throw new HookError(
            `${file} in ${t.container} is not valid JSON (${(e as Error).message}); nothing was changed. It records which databases were imported: check it, do not just delete it`,
        );
    }
    if (s.format !== STATE_FORMAT || typeof s.databases !== "object")
        throw new HookError(`${file} in ${t.container}: unknown format ${String(s.format)}`);
    return s;
}

// Written next to the export in the new store: temporary name, rename, sync (the same publish rule
// as core/atomic-file.ts, done inside the container because the store is there).
const WRITE_STATE = 'cat > "$1.tmp" && mv -f "$1.tmp" "$1" && sync';

async function writeState(t: KwdbTarget, file: string, s: ImportState): Promise<void> {
    await docker(["exec", "-i", t.container, "sh", "-c", WRITE_STATE, "sh", file], {
        input: JSON.stringify(s, null, 2) + "\n",
    });
}

/** Rows (and tables) a database has beyond what the export recorded; 0 when it has none more. */
function grownBy(expected: DbCensus, have: DbCensus | undefined): number {
    if (!have) return 0;
    let more = 0;
    for (const [table, n] of Object.entries(have.tables)) {
        const e = expected.tables[table];
        if (e === undefined) more += Math.max(1, n);
        else if (n > e) more += n - e;
    }
    return more;
}

export async function runImport(o: ImportOptions): Promise<Record<string, unknown>> {
    const started = Date.now();
    const t = o.target;
    const from = path.resolve(o.from);
    const m = readExportManifest(from);
    const data = path.join(from, "data");
    await waitReady(OP, t.container, o.waitSeconds);
    const extern = `${o.store.replace(/\/$/, "")}/extern`;
    const stateFile = `${extern}/.upshift-import-${m.dir}.json`;

    // Per database, what earlier runs did is recorded in the new store itself (it describes that
    // store): "importing" = IMPORT started, not yet verified (ours to drop and redo); "imported" =
    // verified, from then on it is the product's data and is never dropped (issue 12, finding 5).
    const state = await readState(t, stateFile, m.dir);
    const saveState = () => writeState(t, stateFile, state);
    const present = new Set(await listDatabases(t));
    const todo: string[] = [];
    const drop: string[] = [];
    for (const db of Object.keys(m.databases)) {
        const expected = { [db]: m.databases[db] };
        const rec = state.databases[db];
        if (!present.has(db)) {
            if (rec === "imported") {
                throw new RefusedError(
                    `database ${db} was imported into ${t.container} by an earlier run and is no longer there: ` +
                        `it is not imported again over whatever happened to it; nothing was changed. Find out who dropped it; to import it anyway remove ${stateFile} in ${t.container}`,
                );
            }
            todo.push(db);
            continue;
        }
        const have = await census(t, [db]);
        const diffs = compareCensus(expected, have);
        if (!diffs.length) {
            log(OP, `${db} already imported (counts match)`);
            state.databases[db] = "imported";
            continue;
        }
        const grown = grownBy(m.databases[db], have[db]);
        if (rec === "imported" || (rec === "importing" && grown)) {
            throw new RefusedError(
                `database ${db} in ${t.container} was ${rec === "imported" ? "imported and verified by an earlier run" : "being imported by an earlier run"} ` +
                    `and has changed since (${grown ? `${grown} rows or tables more than the export; ` : ""}${diffs.slice(0, 3).join("; ")}): ` +
                    `it holds writes made after the import and is never dropped. Nothing was changed; the import of ${db} is done`,
            );
        }
        const empty = !Object.keys(have[db]?.tables ?? {}).length;
        if (rec !== "importing" && !empty) {
            throw new RefusedError(
                `database ${db} already exists in ${t.container} with other content: the import target must be the new, empty store; nothing was changed`,
            );
        }
        drop.push(db);
        todo.push(db);
    }
    for (const db of drop) {
        log(
            OP,
            `dropping ${state.databases[db] === "importing" ? "the unfinished import of" : "the empty"} ${db} before importing it`,
        );
        await sql(t, `DROP DATABASE ${ident(db)} CASCADE`);
    }
    await saveState();

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

    const existingUsers = new Set(await listUsers(t));
    const statements = importStatements(m, data, todo)
        // A rerun after the users were imported must not fail on "user exists".
        .filter((s) => !(s.startsWith("IMPORT USERS") && m.users.every((u) => existingUsers.has(u))));
    for (const s of statements) {
        const db = todo.find((d) => s === importStatements(m, data, [d])[0]);
        if (db) {
            // Recorded before the IMPORT: a run killed during it leaves a database that is ours to redo.
            state.databases[db] = "importing";
            await saveState();
        }
        log(OP, s);
        await sql(t, s);
    }

    const now = await census(t, Object.keys(m.databases));
    const diffs = compareCensus(m.databases, now);
    for (const db of todo) if (!compareCensus({ [db]: m.databases[db] }, now).length) state.databases[db] = "imported";
    await saveState();
    if (diffs.length) {
        throw new HookError(
            `the import does not match the export (${diffs.length} difference${diffs.length > 1 ? "s" : ""}: ${diffs.slice(0, 5).join("; ")}); ` +
                `the old store is retained and the export is kept in ${from}`,
        );
    }
    const missingUsers = m.users.filter((u) => !existingUsers.has(u));
    const afterUsers = new Set(await listUsers(t));
    const notImported = missingUsers.filter((u) => !afterUsers.has(u));
    if (notImported.length) throw new HookError(`users not imported: ${notImported.join(", ")}`);
    if (m.users.length) {
        log(
            OP,
            `passwords are not exported (KWDB export-data.md): reset them with ALTER USER <name> WITH PASSWORD for: ${m.users.join(", ")}`,
        );
    }
    return {
        databases: Object.keys(m.databases).length,
        tables: totalTables(now),
        rows: totalRows(now),
        imported: todo,
        partitionIntervalRemoved: removed,
        usersToReset: m.users,
        seconds: Math.round((Date.now() - started) / 100) / 10,
    };
}

export const kwdbImport: HookCommand = {
    name: OP,
    summary: "IMPORT a kwdb-export into the new KWDB (meta.sql fixed for 3.1+), verify tables and row counts",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" },
            store: { type: "string" },
            from: { type: "string" },
            insecure: { type: "boolean" },
            "certs-dir": { type: "string" },
            "strip-partition-interval": { type: "boolean" },
            "wait-healthy": { type: "string" },
        });
        requireFlags(values, "container", "store", "from");
        if (Boolean(values.insecure) === Boolean(values["certs-dir"]))
            throw new UsageError("give exactly one of --insecure or --certs-dir D (the server's own mode)");
        const wait = Number(values["wait-healthy"] ?? "900");
        if (!Number.isFinite(wait) || wait < 0) throw new UsageError("--wait-healthy must be a number of seconds");
        return runOperation(OP, () =>
            runImport({
                target: { container: values.container!, certsDir: values["certs-dir"] },
                store: values.store!,
                from: values.from!,
                stripPartitionInterval: Boolean(values["strip-partition-interval"]),
                waitSeconds: wait,
            }),
        );
    },
};
