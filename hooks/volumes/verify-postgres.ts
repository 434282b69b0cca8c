// The `postgres` check of `verify --test-restore` (issue 6: a restore point is proven good by a
// throwaway container that must start and answer). It runs on every test restore: an archive
// whose restored contents hold a Postgres data directory (PG_VERSION at the top) is started with
// `--pg-image` in a throwaway container (no network, unique name, always removed), which must
// accept TCP connections on 127.0.0.1 inside, list its databases and count the rows of every table
// of every connectable database. Without --pg-image such an archive is flagged, never passed.
//
// No role is hard-coded: the bootstrap superuser (`root` for CVAT, `postgres` elsewhere) is read
// from pg_authid by a single-user `postgres --single` run on the restored copy before the server
// starts, and the server is given a trust-only hba file of ours (the copy's own pg_hba.conf may
// ask for passwords we do not have). Settings that could reach outside the throwaway are switched
// off (archive_mode, ssl) or made small (shared_buffers).
import * as crypto from "crypto";
import { containerState, docker, ownerLabels } from "../core/docker";
import { DATABASES_SQL, psqlJson, TABLE_COUNTS_SQL } from "../postgres/common";
import { HookError } from "../core/report";
import { pgStartTimeoutMs } from "../core/settings";
import { registerVerifyCheck, TestRestoreContext } from "./verify-checks";

/** Where the restored data directory is mounted (not the image's own VOLUME path). */
const PGDATA = "/upshift/pgdata";
const HBA_FILE = "upshift-verify-hba.conf";
export const NOT_STARTED = "not test-started (no --pg-image)";
const WHO = "the test-started Postgres";

/** Server settings of the throwaway cluster: nothing leaves it, nothing big is allocated. */
const SERVER_SETTINGS = [
    "listen_addresses=127.0.0.1",
    "port=5432",
    `hba_file=${PGDATA}/${HBA_FILE}`,
    "archive_mode=off",
    "ssl=off",
    "fsync=off",
    "shared_buffers=128MB",
    "huge_pages=off",
    "logging_collector=off",
    "log_destination=stderr",
];

/** "schema.table" -> rows, per database. */
export interface PgCounts {
    [database: string]: { tables: Record<string, number> };
}

export interface PgArchiveResult {
    archive: string;
    pgVersion: string;
    image?: string;
    server?: string;
    superuser?: string;
    status: "answered" | typeof NOT_STARTED;
    databases?: PgCounts;
    seconds?: number;
}

// Hex, so that any role name survives single-user mode's output format.
const SUPERUSER_SQL =
    "SELECT encode(convert_to(rolname, 'UTF8'), 'hex') AS upshift_role FROM pg_authid WHERE rolsuper AND rolcanlogin ORDER BY (oid = 10) DESC, oid LIMIT 1;";

/**
 * Which restored volumes hold a Postgres data directory (archive -> PG_VERSION), in one helper.
 * With `prepare`, also writes our hba file into them (they are throwaway copies).
 */
async function findDataDirs(ctx: TestRestoreContext, prepare: boolean): Promise<Map<string, string>> {
    const entries = [...ctx.volumes];
    if (!entries.length) return new Map();
    const mounts = entries.flatMap(([, vol], i) => ["--mount", `type=volume,src=${vol},dst=/v/${i}`]);
    const script = `for d in /v/*; do
  [ -f "$d/PG_VERSION" ] || continue
  echo "UPSHIFT-PG \${d#/v/} $(head -c 16 "$d/PG_VERSION" | tr -cd '0-9.')"
  if [ "$1" = prepare ]; then
    printf 'local all all trust\\nhost all all 127.0.0.1/32 trust\\n' > "$d/${HBA_FILE}"
    [ -f "$d/postgresql.conf" ] || : > "$d/postgresql.conf"
  fi
done`;
    const r = await docker([
        "run",
        "--rm",
        ...ownerLabels(),
        "--log-driver",
        "none",
        "--network",
        "none",
        ...mounts,
        ctx.helperImage,
        "sh",
        "-c",
        script,
        "sh",
        prepare ? "prepare" : "look",
    ]);
    const out = new Map<string, string>();
    for (const line of r.stdout.split("\n")) {
        const m = /^UPSHIFT-PG (\d+) (\S*)$/.exec(line.trim());
        if (m) out.set(entries[Number(m[1])][0], m[2] || "?");
    }
    return out;
}

const tail = (text: string, n = 25) => text.trim().split("\n").slice(-n).join("\n");

/** The bootstrap superuser (or another superuser that can log in), by single-user mode. */
async function discoverSuperuser(archive: string, volume: string, image: string): Promise<string> {
    const name = `upshift-verify-pg-su-${crypto.randomBytes(4).toString("hex")}`;
    const r = await docker(
        [
            "run",
            "--rm",
            "-i",
            "--name",
            name,
            ...ownerLabels("throwaway"),
            "--network",
            "none",
            "--mount",
            `type=volume,src=${volume},dst=${PGDATA}`,
            "-e",
            `PGDATA=${PGDATA}`,
            image,
            "postgres",
            "--single",
            "-c",
            "fsync=off",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "huge_pages=off",
            "-c",
            "archive_mode=off",
            "template1",
        ],
        { input: SUPERUSER_SQL + "\n", check: false, timeoutMs: pgStartTimeoutMs() },
    );
    const m = /upshift_role = "([0-9a-f]*)"/.exec(r.stdout);
    if (r.code !== 0 || !m) {
        throw new HookError(
            `Postgres (${image}) did not start on the restored ${archive} (single-user run, exit ${r.code}); its log:\n${tail(`${r.stdout}\n${r.stderr}`)}`,
        );
    }
    if (!m[1]) throw new HookError(`the restored ${archive} has no superuser that can log in; cannot count its rows`);
    return Buffer.from(m[1], "hex").toString("utf8");
}

async function waitReady(container: string, archive: string, image: string): Promise<void> {
    const until = Date.now() + pgStartTimeoutMs();
    for (;;) {
        const st = await containerState(container);
        if (!st || st.status !== "running") {
            const logs = await docker(["logs", "--tail", "25", container], { check: false });
            throw new HookError(
                `Postgres (${image}) did not start on the restored ${archive} (container ${st?.status ?? "gone"}); its log:\n${tail(`${logs.stdout}\n${logs.stderr}`)}`,
            );
        }
        const r = await docker(["exec", container, "pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], {
            check: false,
        });
        if (r.code === 0) return;
        if (Date.now() > until) {
            const logs = await docker(["logs", "--tail", "25", container], { check: false });
            throw new HookError(
                `Postgres (${image}) on the restored ${archive} did not accept connections on 127.0.0.1 within ${pgStartTimeoutMs() / 1000} s; its log:\n${tail(`${logs.stdout}\n${logs.stderr}`)}`,
            );
        }
        await new Promise((res) => setTimeout(res, 300));
    }
}

/** Starts IMG on the restored data directory and counts every table's rows. */
export async function testStart(
    archive: string,
    volume: string,
    pgVersion: string,
    image: string,
    log: (m: string) => void,
): Promise<PgArchiveResult> {
    const started = Date.now();
    const superuser = await discoverSuperuser(archive, volume, image);
    const name = `upshift-verify-pg-${crypto.randomBytes(4).toString("hex")}`;
    try {
        log(`starting Postgres ${pgVersion} (${image}) on the restored ${archive} as ${name}`);
        await docker([
            "run",
            "-d",
            "--name",
            name,
            ...ownerLabels("throwaway"),
            "--network",
            "none",
            "--mount",
            `type=volume,src=${volume},dst=${PGDATA}`,
            "-e",
            `PGDATA=${PGDATA}`,
            image,
            "postgres",
            ...SERVER_SETTINGS.flatMap((s) => ["-c", s]),
        ]);
        await waitReady(name, archive, image);
        const server = await psqlJson<string>(
            name,
            superuser,
            "postgres",
            "SELECT to_json(current_setting('server_version'))",
            WHO,
            "report its version",
        ).catch(() =>
            psqlJson<string>(
                name,
                superuser,
                "template1",
                "SELECT to_json(current_setting('server_version'))",
                WHO,
                "report its version",
            ),
        );
        const dbs = await psqlJson<string[]>(name, superuser, "template1", DATABASES_SQL, WHO, "list its databases");
        const databases: PgCounts = {};
        for (const db of dbs) {
            databases[db] = {
                tables: await psqlJson<Record<string, number>>(
                    name,
                    superuser,
                    db,
                    TABLE_COUNTS_SQL,
                    WHO,
                    `count the rows of database ${JSON.stringify(db)}`,
                ),
            };
        }
        const seconds = Math.round((Date.now() - started) / 100) / 10;
        const t = totals(databases);
        log(
            `${archive}: Postgres ${server} answered: ${dbs.length} databases, ${t.tables} tables, ${t.rows} rows (${seconds} s)`,
        );
        return { archive, pgVersion, image, server, superuser, status: "answered", databases, seconds };
    } finally {
        // -v: the image may declare a VOLUME of its own (an anonymous volume per container).
        await docker(["rm", "-f", "-v", name], { check: false });
    }
}

function totals(dbs: PgCounts): { tables: number; rows: number } {
    let tables = 0,
        rows = 0;
    for (const d of Object.values(dbs))
        for (const n of Object.values(d.tables)) {
            tables++;
            rows += n;
        }
    return { tables, rows };
}

/** What a manifest may record under `checks.postgres`: counts for its one Postgres archive, or per archive. */
interface Expected {
    databases?: Record<string, { tables?: Record<string, number> }>;
    archives?: Record<string, { databases?: Record<string, { tables?: Record<string, number> }> }>;
}

function differences(archive: string, want: NonNullable<Expected["databases"]>, got: PgCounts): string[] {
    const d: string[] = [];
    for (const [db, w] of Object.entries(want)) {
        const g = got[db];
        if (!g) {
            d.push(`${archive}: database ${db} missing`);
            continue;
        }
        for (const [t, n] of Object.entries(w.tables ?? {})) {
            if (!(t in g.tables)) d.push(`${archive}: ${db}: table ${t} missing (recorded ${n} rows)`);
            else if (g.tables[t] !== n) d.push(`${archive}: ${db}: table ${t} has ${g.tables[t]} rows, recorded ${n}`);
        }
    }
    return d;
}

export async function postgresCheck(
    expected: unknown,
    ctx: TestRestoreContext,
): Promise<Record<string, unknown> | undefined> {
    const exp = (expected ?? undefined) as Expected | undefined;
    const found = await findDataDirs(ctx, ctx.pgImage !== undefined);
    if (!found.size) {
        if (exp)
            throw new HookError(
                `the manifest records Postgres checks but no restored archive holds a Postgres data directory (PG_VERSION)`,
            );
        return undefined;
    }
    if (!ctx.pgImage) {
        if (exp)
            throw new HookError(
                `the manifest records Postgres row counts for ${[...found.keys()].join(", ")}: give --pg-image IMG to test-start it`,
            );
        const archives: Record<string, unknown> = {};
        for (const [a, v] of found) {
            ctx.log(`${a} holds a Postgres ${v} data directory: ${NOT_STARTED}`);
            archives[a] = { pgVersion: v, status: NOT_STARTED };
        }
        ctx.record({ archives });
        return { archives, notTestStarted: [...found.keys()] };
    }
    const results: PgArchiveResult[] = [];
    for (const [archive, pgVersion] of found) {
        results.push(await testStart(archive, ctx.volumes.get(archive)!, pgVersion, ctx.pgImage, ctx.log));
    }
    const problems: string[] = [];
    for (const r of results) {
        const want = exp?.archives?.[r.archive]?.databases ?? (results.length === 1 ? exp?.databases : undefined);
        if (want) problems.push(...differences(r.archive, want, r.databases!));
    }
    if (problems.length)
        throw new HookError(
            `the test-started Postgres does not hold what the manifest recorded: ${problems.slice(0, 10).join("; ")}`,
        );
    ctx.record({
        archives: Object.fromEntries(
            results.map((r) => [
                r.archive,
                {
                    image: r.image,
                    pgVersion: r.pgVersion,
                    server: r.server,
                    superuser: r.superuser,
                    seconds: r.seconds,
                    databases: r.databases,
                },
            ]),
        ),
    });
    return {
        image: ctx.pgImage,
        archives: Object.fromEntries(
            results.map((r) => [
                r.archive,
                {
                    pgVersion: r.pgVersion,
                    server: r.server,
                    status: r.status,
                    databases: Object.fromEntries(
                        Object.entries(r.databases!).map(([db, d]) => [
                            db,
                            {
                                tables: Object.keys(d.tables).length,
                                rows: Object.values(d.tables).reduce((a, b) => a + b, 0),
                            },
                        ]),
                    ),
                },
            ]),
        ),
    };
}

registerVerifyCheck("postgres", postgresCheck, { auto: true });
