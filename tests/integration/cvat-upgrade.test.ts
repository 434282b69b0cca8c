// CVAT 2.2.0 -> 2.3.0 for real: the exact command lines the CVAT component registers (captured
// under Pulumi mocks, as the engine would run them) are run in their order against real
// containers. The images are overridden to local ones: Postgres 15 plays the old major (CVAT's
// 10) and Postgres 17 the new one (CVAT's 15). Between the steps, the test does what the engine
// does to the DB container: delete it and create the new one on the new volume. Twice: with the
// test's pg_upgrade helper (upshift:pgUpgradeImage), and with the pair's default helper, which
// cannot be had here, so pg-migrate falls back to dump and restore by itself.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { TEST_IMAGES } from "./setup";
import { dk, dkQuiet } from "./pg-helpers";
import { Capture, setMocks } from "../unit/mocks";
import { capturedSteps, digest, HOOKS, psql, runPg, sh, startStandIns, Step, waitReady } from "./cvat-steps";
import { cvatCatalog } from "../../catalog/cvat";
import { planChange } from "../../plan";

const PASSWORD = "cvat-e2e-Secret-9f3b";
let prefix = `e2e${process.pid}`;
const volumesOf = (p: string) => ({
    cvat_db: `${p}_cvat_db`,
    cvat_data: `${p}_cvat_data`,
    cvat_keys: `${p}_cvat_keys`,
    cvat_logs: `${p}_cvat_logs`,
});
let VOLUMES = volumesOf(prefix);
const IMAGES = { "postgres:10-alpine": TEST_IMAGES.pg15, "postgres:15-alpine": TEST_IMAGES.pg17 };
/** The 2.2.0 app and cache containers as the catalog (the vendor's 2.2.0 file) has them, cvat_utils included. */
const STANDINS = cvatCatalog
    .services("2.2.0")
    .map((s) => s.name)
    .filter((n) => n !== "cvat_db");

/** The component's Commands for 2.2.0 -> 2.3.0, in dependency order, with their resolved env. */
async function registeredSteps(
    backupDir: string,
    pgUpgradeImage?: string,
): Promise<{ steps: Step[]; newDbVolume: string }> {
    setMocks();
    const { Cvat } = await import("../../components/cvat");
    const deployed = planChange({ catalog: cvatCatalog, to: "2.2.0", volumeNames: VOLUMES }).next;
    const capture = new Capture();
    const cvat = new Cvat(
        `${prefix}`,
        {
            version: "2.3.0",
            deployed,
            backupDir,
            images: IMAGES,
            volumes: VOLUMES,
            helperImage: TEST_IMAGES.tools,
            hooksCommand: HOOKS,
            pgUpgradeImage,
            secrets: { dbPassword: pulumi.secret(PASSWORD) },
        },
        { transformations: [capture.transformation] },
    );
    const steps = await capturedSteps(capture, `${prefix}-2.2.0-to-2.3.0-`);
    return { steps, newDbVolume: cvat.plan.volumes.find((v) => v.key === "cvat_db")!.name };
}

function cleanup(newVol?: string): void {
    dkQuiet(["rm", "-f", "cvat_db", "cvat_worker_webhooks", ...STANDINS]);
    for (const v of [...Object.values(VOLUMES), newVol].filter(Boolean)) dkQuiet(["volume", "rm", "-f", v!]);
}

for (const c of [
    {
        how: "pg_upgrade with the configured helper (upshift:pgUpgradeImage)",
        pgUpgradeImage: TEST_IMAGES.pgUpgrade,
        method: "pg_upgrade",
        fallback: undefined,
    },
    // The test images parse as Debian postgres:15/17, whose default helper (tianon/postgres-upgrade) no registry gives here.
    {
        how: "dump and restore, chosen by pg-migrate itself when the pair's default helper cannot be had",
        pgUpgradeImage: undefined,
        method: "dump",
        fallback: /pg_upgrade helper image tianon\/postgres-upgrade:15-to-17 is not on the Docker host/,
    },
]) {
    describe(`CVAT 2.2.0 -> 2.3.0 on a real Docker engine: the component's own command lines, in order (${c.how})`, function () {
        let backupDir: string;
        let newDbVolume = "";
        before(() => {
            prefix = `e2e${process.pid}${c.method === "dump" ? "d" : "u"}`;
            VOLUMES = volumesOf(prefix);
            backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-cvat-e2e-"));
            cleanup();
        });
        after(() => {
            cleanup(newDbVolume);
            fs.rmSync(backupDir, { recursive: true, force: true });
        });

        it("backs up, verifies, migrates into the new major on a new volume before the DB container is replaced; every row arrives and the old volume is untouched", async function () {
            const started = Date.now();
            const { steps, newDbVolume: newVol } = await registeredSteps(backupDir, c.pgUpgradeImage);
            console.log(`      registered ${steps.length} steps`);
            newDbVolume = newVol;
            assert.deepStrictEqual(
                steps.map((s) => s.name),
                ["preflight", "restore-point", "verify-restore-point", "pg-migrate", "start", "pg-analyze"],
            );
            assert.ok(
                steps.every((s) => !s.create.includes(PASSWORD)),
                "no secret on a command line",
            );

            // CVAT 2.2.0 as compose runs it: cvat_db on its volume, the app containers beside it.
            runPg("cvat_db", TEST_IMAGES.pg15, VOLUMES.cvat_db, PASSWORD);
            startStandIns(STANDINS, VOLUMES, TEST_IMAGES.tools);
            dk([
                "exec",
                "cvat_server",
                "sh",
                "-c",
                "mkdir -p /home/django/data/tasks/1 && head -c 3000000 /dev/urandom > /home/django/data/tasks/1/frame.bin && echo key > /home/django/keys/secret_key.py",
            ]);
            await waitReady("cvat_db");
            psql(
                "cvat_db",
                "cvat",
                `
                CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, joined timestamptz NOT NULL);
                CREATE TABLE engine_task (id serial PRIMARY KEY, name text, owner_id int REFERENCES auth_user(id), meta jsonb, data bytea);
                CREATE TABLE engine_job (id serial PRIMARY KEY, task_id int REFERENCES engine_task(id), status text, score numeric(10,4));
                CREATE INDEX ON engine_job (task_id);
                INSERT INTO auth_user (username, joined) SELECT 'user' || g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 500) g;
                INSERT INTO engine_task (name, owner_id, meta, data) SELECT 'task ' || g, 1 + g % 500, jsonb_build_object('frames', g, 'labels', ARRAY['car','person']), decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g;
                INSERT INTO engine_job (task_id, status, score) SELECT 1 + g % 20000, (ARRAY['new','annotation','validation','completed'])[1 + g % 4], g / 7.0 FROM generate_series(1, 200000) g;
                CREATE ROLE cvat_readonly LOGIN PASSWORD 'ro';`,
            );
            const before = digest("cvat_db", "cvat");

            const run = (name: string) => {
                const s = steps.find((x) => x.name === name)!;
                return { out: sh(s.create, s.env) };
            };
            for (const name of ["preflight", "restore-point", "verify-restore-point"]) run(name);
            // The restore point really holds the data, checked by its manifest on disk.
            const manifest = JSON.parse(
                fs.readFileSync(
                    path.join(backupDir, "cvat", "2.2.0-to-2.3.0-a1-restore-point", "manifest.json"),
                    "utf8",
                ),
            );
            assert.deepStrictEqual(
                manifest.archives.map((a: { name: string }) => a.name).sort(),
                Object.values(VOLUMES).sort(),
            );
            // The backup started the app again.
            assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", "cvat_server"]).trim(), "true");
            // What the engine does first: the new volume (the step depends on it).
            dk(["volume", "create", newDbVolume]);
            const migrated = run("pg-migrate");
            const lines = migrated.out.trim().split("\n");
            assert.ok(lines.length <= 1, "stdout stays one small line");
            const report = JSON.parse(lines[0]) as Record<string, unknown>;
            assert.strictEqual(report.method, c.method);
            assert.strictEqual(report.verified, true);
            if (c.fallback) assert.match(String(report.fallback), c.fallback);
            else assert.strictEqual(report.fallback, undefined);
            // The app stays stopped (it is replaced next); the old server too after pg_upgrade.
            assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", "cvat_server"]).trim(), "false");

            // What the engine does next: the DB container (new image) is deleted and created on the new volume.
            dk(["rm", "-f", "cvat_db"]);
            runPg("cvat_db", TEST_IMAGES.pg17, newDbVolume, PASSWORD);
            await waitReady("cvat_db");

            assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^17\./);
            assert.deepStrictEqual(digest("cvat_db", "cvat"), before, "every table, every row, same contents");
            assert.strictEqual(
                psql("cvat_db", "postgres", "SELECT count(*) FROM pg_roles WHERE rolname='cvat_readonly'"),
                "1",
            );
            // The app's own login (the password carried over, over TCP as the app connects) works on the new server.
            assert.strictEqual(
                dk([
                    "exec",
                    "-e",
                    `PGPASSWORD=${PASSWORD}`,
                    "cvat_db",
                    "psql",
                    "-X",
                    "-A",
                    "-t",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "root",
                    "-d",
                    "cvat",
                    "-c",
                    "SELECT 1",
                ]).trim(),
                "1",
            );
            // The old volume is untouched: still a Postgres 15 cluster (the "old major").
            assert.strictEqual(
                dk(["run", "--rm", "-v", `${VOLUMES.cvat_db}:/d:ro`, TEST_IMAGES.tools, "cat", "/d/PG_VERSION"]).trim(),
                "15",
            );
            // The engine creates the worker that 2.3.0 adds; then the last step starts what pg-migrate
            // stopped and the engine did not replace (here: every other stand-in).
            startStandIns(["cvat_worker_webhooks"], VOLUMES, TEST_IMAGES.tools);
            run("start");
            for (const n of ["cvat_db", ...STANDINS, "cvat_worker_webhooks"])
                assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", n]).trim(), "true", `${n} runs again`);
            // The statistics, the app serving: pg_upgrade deferred them; dump/restore analyzed as it loaded.
            assert.strictEqual(report.analyzed, c.method === "pg_upgrade" ? false : undefined);
            const analyzed = JSON.parse(run("pg-analyze").out.trim()) as Record<string, unknown>;
            assert.strictEqual(analyzed.analyzed, c.method === "pg_upgrade", JSON.stringify(analyzed));
            if (c.method === "pg_upgrade")
                assert.notStrictEqual(
                    psql("cvat_db", "cvat", "SELECT count(*) FROM pg_stats WHERE tablename = 'engine_job'"),
                    "0",
                );
            console.log(
                `      CVAT 2.2.0 -> 2.3.0 steps (${c.method}) took ${((Date.now() - started) / 1000).toFixed(1)} s for 220,500 rows and a 3 MB file`,
            );
        });
    });
}
