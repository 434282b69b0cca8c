// CVAT 2.3.0 -> 2.2.0 rollback for real: the exact command lines the CVAT component registers for
// a rollback (captured under Pulumi mocks, with a deployed record made by planChange: install
// 2.2.0, then upgrade to 2.3.0) are run in their dependency order against real containers. The
// images are overridden to local ones: Postgres 15 plays CVAT 2.2.0's Postgres 10 and Postgres 17
// plays 2.3.0's Postgres 15. After the steps, the test does what the engine does to the DB
// container: delete it and create the old image's one on the retained volume.
//
// CAUTION: `cvat_db` and the app container names are fixed by the component; the CVAT upgrade
// test (cvat-upgrade.test.ts) uses the same names. Never run both files at the same time.
import * as assert from "assert";
import * as crypto from "crypto";
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

const PASSWORD = "cvat-rb-Secret-51c2";
const prefix = `rb${process.pid}${crypto.randomBytes(2).toString("hex")}`;
const VOLUMES = {
    cvat_db: `${prefix}_cvat_db`,
    cvat_data: `${prefix}_cvat_data`,
    cvat_keys: `${prefix}_cvat_keys`,
    cvat_logs: `${prefix}_cvat_logs`,
};
const IMAGES = { "postgres:10-alpine": TEST_IMAGES.pg15, "postgres:15-alpine": TEST_IMAGES.pg17 };
// Every fixed container name of CVAT 2.2.0 and 2.3.0 (the upgrade test's stand-ins included).
const FIXED = [...new Set([...cvatCatalog.services("2.2.0"), ...cvatCatalog.services("2.3.0")].map((s) => s.name))];
// Stand-ins of the 2.3.0 app and cache containers (preflight checks that they exist; backup stops and starts them).
const STANDINS = cvatCatalog
    .services("2.3.0")
    .map((s) => s.name)
    .filter((n) => n !== "cvat_db");
const BACKUP_ID = "2.3.0-to-2.2.0-a2-rollback-point"; // the upgrade was attempt 1

/** The component's Commands for the rollback 2.3.0 -> 2.2.0, in order, with their resolved env. */
async function registeredRollback(
    backupDir: string,
): Promise<{ steps: Step[]; notes: readonly string[]; pg17Volume: string; dbVolume: string }> {
    setMocks();
    const { Cvat } = await import("../../components/cvat");
    const installed = planChange({ catalog: cvatCatalog, to: "2.2.0", volumeNames: VOLUMES }).next;
    const upgraded = planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: installed, volumeNames: VOLUMES }).next;
    const capture = new Capture();
    const cvat = new Cvat(
        prefix,
        {
            version: "2.2.0",
            deployed: upgraded,
            backupDir,
            images: IMAGES,
            volumes: VOLUMES,
            helperImage: TEST_IMAGES.tools,
            hooksCommand: HOOKS,
            secrets: { dbPassword: pulumi.secret(PASSWORD) },
        },
        { transformations: [capture.transformation] },
    );
    const steps = await capturedSteps(capture, `${prefix}-2.3.0-to-2.2.0-`);
    return {
        steps,
        notes: cvat.plan.notes,
        pg17Volume: upgraded.volumes["cvat_db@pg15"].name,
        dbVolume: cvat.plan.volumes.find((v) => v.key === "cvat_db")!.name,
    };
}

const counts = (d: Record<string, string>) =>
    Object.fromEntries(Object.entries(d).map(([t, v]) => [`public.${t}`, Number(v.split(":")[0])]));

const CVAT_SCHEMA = `
    CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, joined timestamptz NOT NULL);
    CREATE TABLE engine_task (id serial PRIMARY KEY, name text, owner_id int REFERENCES auth_user(id), meta jsonb);
    CREATE TABLE engine_job (id serial PRIMARY KEY, task_id int REFERENCES engine_task(id), status text);
    CREATE INDEX ON engine_job (task_id);`;
/** CVAT's rows up to task `tasks`: the data of 2.2.0 (fewer) and of 2.3.0 (the same and newer). */
const ROWS = (users: number, tasks: number, jobs: number) => `
    INSERT INTO auth_user (username, joined) SELECT 'user' || g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, ${users}) g;
    INSERT INTO engine_task (name, owner_id, meta) SELECT 'task ' || g, 1 + g % ${users}, jsonb_build_object('frames', g) FROM generate_series(1, ${tasks}) g;
    INSERT INTO engine_job (task_id, status) SELECT 1 + g % ${tasks}, (ARRAY['new','annotation','validation','completed'])[1 + g % 4] FROM generate_series(1, ${jobs}) g;`;

function cleanup(extra: string[] = []): void {
    dkQuiet(["rm", "-f", "-v", ...FIXED, `${prefix}-old`, `${prefix}-check`]);
    for (const v of [...Object.values(VOLUMES), `${prefix}_cvat_db_pg15`, `${prefix}-check`, ...extra])
        dkQuiet(["volume", "rm", "-f", v]);
}

describe("CVAT rollback 2.3.0 -> 2.2.0 on a real Docker engine: the component's own command lines, in order", function () {
    let backupDir: string;
    before(() => {
        backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-cvat-rb-"));
        cleanup();
    });
    after(() => {
        cleanup();
        fs.rmSync(backupDir, { recursive: true, force: true });
    });

    it("a rollback from the Postgres 17 data back to the retained Postgres 15 volume brings the old data back and saves the newer data in a backup first", async function () {
        const started = Date.now();
        const { steps, notes, pg17Volume, dbVolume } = await registeredRollback(backupDir);
        assert.deepStrictEqual(
            steps.map((s) => s.name),
            ["preflight", "stop-apps", "rollback-point", "verify-rollback-point", "reattach-cvat_db", "start"],
        );
        assert.strictEqual(dbVolume, VOLUMES.cvat_db, "2.2.0 runs on the retained volume again");
        assert.strictEqual(pg17Volume, `${prefix}_cvat_db_pg15`);
        assert.ok(
            steps.every((s) => !s.create.includes(PASSWORD)),
            "no secret on a command line",
        );
        assert.ok(
            notes.some((n) => n.includes(`cvat/${BACKUP_ID}`)),
            `the preview says where the newer data is saved: ${notes.join(" | ")}`,
        );
        assert.match(steps[3].create, new RegExp(`--test-restore --pg-image ${TEST_IMAGES.pg17}`));

        // 2.2.0's data on the volume the upgrade retained (the older major), shut down cleanly.
        runPg(`${prefix}-old`, TEST_IMAGES.pg15, VOLUMES.cvat_db, PASSWORD);
        await waitReady(`${prefix}-old`);
        psql(`${prefix}-old`, "cvat", CVAT_SCHEMA + ROWS(300, 2000, 20000));
        const oldDigest = digest(`${prefix}-old`, "cvat");
        dk(["stop", "--time", "60", `${prefix}-old`]);
        dk(["rm", `${prefix}-old`]);

        // CVAT 2.3.0 as it runs now: cvat_db (the newer major) on the new volume with newer rows and a
        // table 2.2.0 never had, and the app containers beside it.
        runPg("cvat_db", TEST_IMAGES.pg17, pg17Volume, PASSWORD);
        startStandIns(STANDINS, VOLUMES, TEST_IMAGES.tools);
        dk([
            "exec",
            "cvat_server",
            "sh",
            "-c",
            "mkdir -p /home/django/data/tasks/1 && head -c 2000000 /dev/urandom > /home/django/data/tasks/1/frame.bin && echo key > /home/django/keys/secret_key.py",
        ]);
        await waitReady("cvat_db");
        psql(
            "cvat_db",
            "cvat",
            CVAT_SCHEMA +
                ROWS(450, 2600, 27000) +
                `
            CREATE TABLE engine_newfeature (id serial PRIMARY KEY, job_id int REFERENCES engine_job(id), note text);
            INSERT INTO engine_newfeature (job_id, note) SELECT g, 'made on 2.3.0' FROM generate_series(1, 1500) g;`,
        );
        const newDigest = digest("cvat_db", "cvat");
        assert.notDeepStrictEqual(newDigest, oldDigest);

        const stepsStarted = Date.now();
        const run = (name: string) => {
            const s = steps.find((x) => x.name === name)!;
            return sh(s.create, s.env);
        };
        for (const s of steps.filter((x) => x.name !== "start")) run(s.name);
        const stepsSeconds = (Date.now() - stepsStarted) / 1000;
        // The app was stopped before the rollback point and stays stopped: nothing written after it is lost.
        // The backup started again only what it stopped itself (the DB and the caches).
        const apps = cvatCatalog
            .services("2.3.0")
            .filter((s) => s.role === "app")
            .map((s) => s.name);
        for (const c of STANDINS)
            assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", c]).trim(), String(!apps.includes(c)), c);
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", "cvat_db"]).trim(), "true");

        // What the engine does next: cvat_db (2.2.0's image) is deleted and created on the retained volume.
        dk(["rm", "-f", "cvat_db"]);
        runPg("cvat_db", TEST_IMAGES.pg15, dbVolume, PASSWORD);
        await waitReady("cvat_db");
        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^15\./);
        assert.deepStrictEqual(
            digest("cvat_db", "cvat"),
            oldDigest,
            "the old rows are back, exactly, and nothing newer",
        );
        // The engine deletes what 2.2.0 does not have; with every container of 2.2.0 in place, the
        // last step starts what stop-apps stopped.
        const at220 = cvatCatalog.services("2.2.0").map((s) => s.name);
        for (const c of STANDINS.filter((n) => !at220.includes(n))) dk(["rm", "-f", c]);
        run("start");
        for (const c of at220)
            assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", c]).trim(), "true", `${c} runs again`);

        // The rollback point: made at 2.3.0 of 2.3.0's volumes, verified with a Postgres 17 that answered the newer counts.
        const bdir = path.join(backupDir, "cvat", BACKUP_ID);
        const manifest = JSON.parse(fs.readFileSync(path.join(bdir, "manifest.json"), "utf8"));
        assert.strictEqual(manifest.label, "rollback-point");
        assert.strictEqual(manifest.version, "2.3.0");
        assert.deepStrictEqual(
            manifest.archives.map((a: { name: string }) => a.name).sort(),
            [pg17Volume, VOLUMES.cvat_data, VOLUMES.cvat_keys, VOLUMES.cvat_logs].sort(),
        );
        const verified = JSON.parse(fs.readFileSync(path.join(bdir, "verified.json"), "utf8"));
        assert.strictEqual(verified.pgImage, TEST_IMAGES.pg17);
        const answered = verified.checks.postgres.archives[pg17Volume];
        assert.match(answered.server, /^17\./);
        assert.strictEqual(answered.superuser, "root");
        assert.deepStrictEqual(
            answered.databases.cvat.tables,
            counts(newDigest),
            "the verification counted the newer rows",
        );

        // And the backup really holds the newer data: restored into a throwaway volume, Postgres 17 serves it.
        const check = `${prefix}-check`;
        sh(`${HOOKS} restore --backup ${bdir} --volume ${pg17Volume}=${check} --helper-image ${TEST_IMAGES.tools}`, {});
        runPg(check, TEST_IMAGES.pg17, check, PASSWORD);
        await waitReady(check);
        assert.deepStrictEqual(digest(check, "cvat"), newDigest, "every newer row is in the rollback point");
        // The 2.3.0 volume itself is retained, untouched (another rollforward can use it).
        assert.strictEqual(
            dk(["run", "--rm", "-v", `${pg17Volume}:/d:ro`, TEST_IMAGES.tools, "cat", "/d/PG_VERSION"]).trim(),
            "17",
        );
        const rows = (d: Record<string, string>) => Object.values(d).reduce((a, v) => a + Number(v.split(":")[0]), 0);
        console.log(
            `      rollback steps took ${stepsSeconds.toFixed(1)} s (backup of 4 volumes, verify with a Postgres 17 test start); ` +
                `whole test ${((Date.now() - started) / 1000).toFixed(1)} s; ${rows(oldDigest)} old rows back, ${rows(newDigest)} newer rows saved, ` +
                `backup ${(manifest.archives.reduce((a: number, x: { bytes: number }) => a + x.bytes, 0) / 1048576).toFixed(1)} MiB`,
        );
    });
});
