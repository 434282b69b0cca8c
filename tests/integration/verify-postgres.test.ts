// `verify --test-restore --pg-image` on the real engine: an archive holding a Postgres data
// directory is started in a throwaway container that must answer row counts of every table; the
// counts are checked here with psql against the source server (means of the test's own).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { TEST_IMAGES } from "./setup";
import { cleanupDocker, dockerSync, inTools, makeData, okJson, runPrefix, tmpDir, upshift } from "./hooks-util";
import { cliKilledWhen, startPg } from "./pg-helpers";

const psqlAs = (c: string, user: string, db: string, sql: string) =>
    dockerSync(
        ["exec", "-i", c, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", db],
        sql,
    ).trim();

/** Rows per table of every non-template database, as the source server itself answers. */
function sourceCounts(c: string, user: string): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const db of psqlAs(c, user, "postgres", "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")
        .split("\n")
        .filter(Boolean)) {
        out[db] = {};
        const tables = psqlAs(
            c,
            user,
            db, // Ordinary tables and partitions (a partitioned parent holds no rows of its own).
            "SELECT n.nspname || '|' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1",
        )
            .split("\n")
            .filter(Boolean);
        for (const t of tables) {
            const [s, n] = t.split("|");
            out[db][`${s}.${n}`] = Number(
                psqlAs(c, user, db, `SELECT count(*) FROM "${s.replace(/"/g, '""')}"."${n.replace(/"/g, '""')}"`),
            );
        }
    }
    return out;
}

const throwaways = () => [
    dockerSync(["ps", "-aq", "--filter", "label=upshift.throwaway=true"]).trim(),
    dockerSync(["volume", "ls", "-q", "--filter", "label=upshift.throwaway=true"]).trim(),
];

describe("verify --test-restore --pg-image: a restored Postgres data directory must start and answer row counts (real engine)", function () {
    const prefix = runPrefix("vpg");
    const cvatDb = `${prefix}-cvat-db`; // superuser `root`, no `postgres` role (CVAT's compose)
    const otherDb = `${prefix}-other-db`; // superuser `postgres`
    const files = `${prefix}-files`; // not Postgres: only files and bytes are compared
    let tmp: string;
    let backups: string;
    let expected: Record<string, Record<string, Record<string, number>>>;
    const timings: string[] = [];

    before(async function () {
        tmp = tmpDir(prefix);
        backups = path.join(tmp, "backups");
        cleanupDocker(prefix);
        await startPg(
            `${prefix}-c1`,
            TEST_IMAGES.pg15,
            { POSTGRES_USER: "root", POSTGRES_DB: "cvat", POSTGRES_PASSWORD: "pw-vpg-1" },
            cvatDb,
        );
        psqlAs(
            `${prefix}-c1`,
            "root",
            "cvat",
            `
            CREATE TABLE engine_task (id serial PRIMARY KEY, name text, data bytea);
            CREATE TABLE engine_job (id serial PRIMARY KEY, task_id int REFERENCES engine_task(id), status text);
            INSERT INTO engine_task (name, data) SELECT 'task ' || g, decode(md5(g::text), 'hex') FROM generate_series(1, 5000) g;
            INSERT INTO engine_job (task_id, status) SELECT 1 + g % 5000, 'new' FROM generate_series(1, 120000) g;
            CREATE SCHEMA "Odd Schema"; CREATE TABLE "Odd Schema"."t ""quoted""" (x int); INSERT INTO "Odd Schema"."t ""quoted""" VALUES (1), (2), (3);
            CREATE TABLE parted (k int, v text) PARTITION BY RANGE (k);
            CREATE TABLE parted_a PARTITION OF parted FOR VALUES FROM (0) TO (100);
            CREATE TABLE parted_b PARTITION OF parted FOR VALUES FROM (100) TO (200);
            INSERT INTO parted SELECT g % 200, 'v' FROM generate_series(1, 1000) g;
            CREATE DATABASE analytics;`,
        );
        psqlAs(
            `${prefix}-c1`,
            "root",
            "analytics",
            "CREATE TABLE events AS SELECT g AS id FROM generate_series(1, 4321) g;",
        );
        await startPg(`${prefix}-c2`, TEST_IMAGES.pg15, { POSTGRES_PASSWORD: "pw-vpg-2" }, otherDb);
        psqlAs(
            `${prefix}-c2`,
            "postgres",
            "postgres",
            "CREATE TABLE settings AS SELECT g AS id FROM generate_series(1, 42) g;",
        );
        makeData(files, 50, [1]);
        expected = {
            [cvatDb]: sourceCounts(`${prefix}-c1`, "root"),
            [otherDb]: sourceCounts(`${prefix}-c2`, "postgres"),
        };
        okJson(
            await upshift([
                "backup",
                "--product",
                "cvat",
                "--version",
                "2.2.0",
                "--id",
                "good",
                "--to",
                backups,
                "--volume",
                cvatDb,
                "--volume",
                otherDb,
                "--volume",
                files,
                "--stop",
                `${prefix}-c1,${prefix}-c2`,
            ]),
        );
    });

    after(function () {
        cleanupDocker(prefix);
        fs.rmSync(tmp, { recursive: true, force: true });
        console.log(timings.map((t) => `      ${t}`).join("\n"));
    });

    it("starts each Postgres archive (superuser root or postgres, discovered), counts every table of every database; totals in the JSON line, per-table counts in verified.json", async function () {
        const before = throwaways();
        const dir = path.join(backups, "cvat", "good");
        const r = await upshift(["verify", "--backup", dir, "--test-restore", "--pg-image", TEST_IMAGES.pg15]);
        const j = okJson(r);
        timings.push(
            `verify --test-restore --pg-image of 3 archives (2 Postgres clusters, ${Object.values(expected[cvatDb]).reduce((a, t) => a + Object.values(t).reduce((x, y) => x + y, 0), 0)} rows in the first): ${(r.ms / 1000).toFixed(1)} s`,
        );
        const pg = (
            j.checks as Record<
                string,
                {
                    image: string;
                    archives: Record<
                        string,
                        {
                            status: string;
                            pgVersion: string;
                            databases: Record<string, { tables: number; rows: number }>;
                        }
                    >;
                }
            >
        ).postgres;
        assert.strictEqual(pg.image, TEST_IMAGES.pg15);
        assert.deepStrictEqual(
            Object.keys(pg.archives).sort(),
            [cvatDb, otherDb].sort(),
            "only the two Postgres archives; the files volume is not one",
        );
        for (const a of [cvatDb, otherDb]) {
            assert.strictEqual(pg.archives[a].status, "answered");
            assert.strictEqual(pg.archives[a].pgVersion, "15");
            const totals = Object.fromEntries(
                Object.entries(expected[a]).map(([db, t]) => [
                    db,
                    { tables: Object.keys(t).length, rows: Object.values(t).reduce((x, y) => x + y, 0) },
                ]),
            );
            assert.deepStrictEqual(pg.archives[a].databases, totals, `totals of ${a}`);
        }
        assert.strictEqual(pg.archives[cvatDb].databases.cvat.rows, 5000 + 120000 + 3 + 1000);
        assert.ok(r.stdout.length < 2048, `the JSON line stays small (${r.stdout.length} bytes)`);

        const v = JSON.parse(fs.readFileSync(path.join(dir, "verified.json"), "utf8"));
        assert.strictEqual(v.format, "upshift-verified/1");
        assert.strictEqual(v.pgImage, TEST_IMAGES.pg15);
        assert.ok(Date.now() - Date.parse(v.verifiedAt) < 120_000, "the time of the verification");
        assert.strictEqual(v.checks.postgres.archives[cvatDb].superuser, "root");
        assert.strictEqual(v.checks.postgres.archives[otherDb].superuser, "postgres");
        for (const a of [cvatDb, otherDb]) {
            const got = Object.fromEntries(
                Object.entries(
                    v.checks.postgres.archives[a].databases as Record<string, { tables: Record<string, number> }>,
                ).map(([db, d]) => [db, d.tables]),
            );
            assert.deepStrictEqual(got, expected[a], `per-table counts of ${a}`);
        }
        assert.deepStrictEqual(throwaways(), before, "no throwaway container or volume left");
    });

    it('without --pg-image a Postgres archive is flagged "not test-started (no --pg-image)", not passed silently', async function () {
        const r = await upshift(["verify", "--backup", path.join(backups, "cvat", "good"), "--test-restore"]);
        const j = okJson(r);
        const pg = (
            j.checks as Record<string, { archives: Record<string, { status: string }>; notTestStarted: string[] }>
        ).postgres;
        assert.deepStrictEqual(pg.notTestStarted.sort(), [cvatDb, otherDb].sort());
        assert.strictEqual(pg.archives[cvatDb].status, "not test-started (no --pg-image)");
        assert.match(r.stderr, /holds a Postgres 15 data directory: not test-started \(no --pg-image\)/);
    });

    it("a row count different from what the manifest records fails verify", async function () {
        const copy = path.join(backups, "cvat", "recorded");
        fs.cpSync(path.join(backups, "cvat", "good"), copy, { recursive: true });
        const m = JSON.parse(fs.readFileSync(path.join(copy, "manifest.json"), "utf8"));
        m.id = "recorded"; // a backup's manifest names its own directory
        m.checks = {
            postgres: { archives: { [cvatDb]: { databases: { cvat: { tables: { "public.engine_job": 120001 } } } } } },
        };
        fs.writeFileSync(path.join(copy, "manifest.json"), JSON.stringify(m));
        const r = await upshift(["verify", "--backup", copy, "--test-restore", "--pg-image", TEST_IMAGES.pg15]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(r.stderr, /table public\.engine_job has 120000 rows, recorded 120001/);
        assert.ok(!fs.existsSync(path.join(copy, "verified.json")), "no verified.json for a failed verification");
    });

    it("a cluster archived corrupted (valid checksums, broken pg_control) fails verify with the server's log tail; nothing is left behind", async function () {
        const before = throwaways();
        const broken = `${prefix}-broken`;
        dockerSync(["volume", "create", broken]);
        inTools(
            [`${cvatDb}:/src:ro`, `${broken}:/dst`],
            "cp -a /src/. /dst/ && dd if=/dev/urandom of=/dst/global/pg_control bs=512 count=1 conv=notrunc 2>/dev/null",
        );
        okJson(
            await upshift([
                "backup",
                "--product",
                "cvat",
                "--version",
                "2.2.0",
                "--id",
                "broken",
                "--to",
                backups,
                "--volume",
                broken,
            ]),
        );
        const dir = path.join(backups, "cvat", "broken");
        okJson(await upshift(["verify", "--backup", dir])); // its checksums are fine: it was archived like this
        const r = await upshift(["verify", "--backup", dir, "--test-restore", "--pg-image", TEST_IMAGES.pg15]);
        assert.strictEqual(r.code, 1, r.stdout);
        assert.strictEqual(r.stdout, "");
        assert.match(
            r.stderr,
            new RegExp(`Postgres \\(${TEST_IMAGES.pg15}\\) did not start on the restored ${broken}.*its log:.*FATAL`),
        );
        assert.ok(!fs.existsSync(path.join(dir, "verified.json")));
        assert.deepStrictEqual(
            throwaways(),
            before,
            "the throwaway container and volume are removed after a failure too",
        );
    });

    it("a cluster of another major than --pg-image does not start either (Postgres 15 data, Postgres 17 image)", async function () {
        const r = await upshift([
            "verify",
            "--backup",
            path.join(backups, "cvat", "good"),
            "--test-restore",
            "--pg-image",
            TEST_IMAGES.pg17,
        ]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /did not start on the restored .*incompatible with server/);
    });

    describe("backup --pg-census: the rows of every table are counted with the apps stopped, the database last, and verify compares them (issue 12)", function () {
        const writer = `${prefix}-writer`;
        const net = `${prefix}-net`;
        const census = (id: string, extra: string[] = []) =>
            upshift(
                [
                    "backup",
                    "--product",
                    "cvat",
                    "--version",
                    "2.2.0",
                    "--id",
                    id,
                    "--to",
                    backups,
                    "--volume",
                    cvatDb,
                    "--volume",
                    files,
                    "--stop",
                    `${writer},${prefix}-c1`,
                    "--pg-census",
                    `${prefix}-c1`,
                    ...extra,
                ],
                { PGPASSWORD: "pw-vpg-1" },
            );

        before(function () {
            // An app that writes all the time, over the network with the password, as CVAT's server does.
            dockerSync(["network", "create", net]);
            dockerSync(["network", "connect", "--alias", "db", net, `${prefix}-c1`]);
            dockerSync([
                "run",
                "-d",
                "--name",
                writer,
                "--network",
                net,
                "-e",
                "PGPASSWORD=pw-vpg-1",
                "--entrypoint",
                "sh",
                TEST_IMAGES.pg15,
                "-c",
                "while :; do psql -X -q -h db -U root -d cvat -c \"INSERT INTO engine_job (task_id, status) VALUES (1, 'written')\" || sleep 0.2; done",
            ]);
        });
        after(function () {
            dockerSync(["rm", "-f", writer]);
            dockerSync(["network", "disconnect", "-f", net, `${prefix}-c1`]);
            dockerSync(["network", "rm", net]);
        });

        it("the counts recorded are the archived data's: the writer stopped first, then the count, then the database; verify passes them", async function () {
            const written = () =>
                Number(
                    psqlAs(`${prefix}-c1`, "root", "cvat", "SELECT count(*) FROM engine_job WHERE status = 'written'"),
                );
            const t0 = Date.now();
            while (written() < 20 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 200));
            assert.ok(written() >= 20, "the writer writes");
            const j = okJson(await census("census"));
            assert.deepStrictEqual(j.stopped, [writer, `${prefix}-c1`], "the writer first, the database last");
            const m = JSON.parse(fs.readFileSync(path.join(backups, "cvat", "census", "manifest.json"), "utf8"));
            const recorded = m.checks.postgres.archives[cvatDb].databases as Record<
                string,
                { tables: Record<string, number> }
            >;
            assert.ok(recorded.cvat.tables["public.engine_job"] > 120000, "the writer's rows are in");
            // The source server, with the writer stopped at the same point, agrees.
            dockerSync(["stop", writer]);
            await new Promise((r) => setTimeout(r, 500));
            const now = sourceCounts(`${prefix}-c1`, "root");
            assert.ok(now.cvat["public.engine_job"] >= recorded.cvat.tables["public.engine_job"]);
            const v = okJson(
                await upshift([
                    "verify",
                    "--backup",
                    path.join(backups, "cvat", "census"),
                    "--test-restore",
                    "--pg-image",
                    TEST_IMAGES.pg15,
                ]),
            );
            const pg = (
                v.checks as Record<
                    string,
                    { archives: Record<string, { databases: Record<string, { rows: number }> }> }
                >
            ).postgres;
            assert.strictEqual(
                pg.archives[cvatDb].databases.cvat.rows,
                Object.values(recorded.cvat.tables).reduce((a, b) => a + b, 0),
                "the restored copy holds exactly the rows counted",
            );
            dockerSync(["start", writer]);
        });

        it("killed with SIGKILL once the database is stopped: the rerun starts it for the count (nothing else runs), archives, and leaves both running", async function () {
            const args = [
                "backup",
                "--product",
                "cvat",
                "--version",
                "2.2.0",
                "--id",
                "census-killed",
                "--to",
                backups,
                "--volume",
                cvatDb,
                "--volume",
                files,
                "--stop",
                `${writer},${prefix}-c1`,
                "--pg-census",
                `${prefix}-c1`,
            ];
            await cliKilledWhen(args, { PGPASSWORD: "pw-vpg-1" }, new RegExp(`stopping ${prefix}-c1`));
            // Killing the CLI's `docker stop` may cancel the stop in the daemon: finish it, as the daemon
            // does when the machine dies after the request went through. The ledger says the backup stopped it.
            await new Promise((r) => setTimeout(r, 1000));
            dockerSync(["stop", `${prefix}-c1`]);
            const j = okJson(await upshift(args, { PGPASSWORD: "pw-vpg-1" }));
            assert.match(JSON.stringify(j.stopped), new RegExp(`${prefix}-c1`));
            for (const c of [writer, `${prefix}-c1`])
                assert.strictEqual(
                    dockerSync(["inspect", "-f", "{{.State.Running}}", c]).trim(),
                    "true",
                    `${c} runs again`,
                );
            const m = JSON.parse(fs.readFileSync(path.join(backups, "cvat", "census-killed", "manifest.json"), "utf8"));
            assert.ok(m.checks.postgres.archives[cvatDb].databases.cvat.tables["public.engine_job"] > 120000);
            okJson(
                await upshift([
                    "verify",
                    "--backup",
                    path.join(backups, "cvat", "census-killed"),
                    "--test-restore",
                    "--pg-image",
                    TEST_IMAGES.pg15,
                ]),
            );
        });

        it("refuses a census whose data directory is not archived, before anything is archived, and starts everything again", async function () {
            const r = await upshift(
                [
                    "backup",
                    "--product",
                    "cvat",
                    "--version",
                    "2.2.0",
                    "--id",
                    "census-other",
                    "--to",
                    backups,
                    "--volume",
                    files,
                    "--stop",
                    `${writer},${prefix}-c1`,
                    "--pg-census",
                    `${prefix}-c1`,
                ],
                { PGPASSWORD: "pw-vpg-1" },
            );
            assert.strictEqual(r.code, 1, r.stderr);
            assert.match(
                r.stderr,
                new RegExp(
                    `--pg-census ${prefix}-c1: its data directory /var/lib/postgresql/data is on ${cvatDb}, which this backup does not archive`,
                ),
            );
            assert.ok(!fs.existsSync(path.join(backups, "cvat", "census-other")));
            for (const c of [writer, `${prefix}-c1`])
                assert.strictEqual(
                    dockerSync(["inspect", "-f", "{{.State.Running}}", c]).trim(),
                    "true",
                    `${c} runs again`,
                );
        });
    });
});
