// CVAT 2.2.0 -> 2.3.0 for real: the exact command lines the CVAT component registers (captured
// under Pulumi mocks, as the engine would run them) are run in their order against real
// containers. The images are overridden to local ones: Postgres 15 plays the old major (CVAT's
// 10) and Postgres 17 the new one (CVAT's 15). Between the steps, the test does what the engine
// does to the DB container: delete it and create the new one on the new volume.
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
const prefix = `e2e${process.pid}`;
const VOLUMES = { cvat_db: `${prefix}_cvat_db`, cvat_data: `${prefix}_cvat_data`, cvat_keys: `${prefix}_cvat_keys`, cvat_logs: `${prefix}_cvat_logs` };
const IMAGES = { "postgres:10-alpine": TEST_IMAGES.pg15, "postgres:15-alpine": TEST_IMAGES.pg17 };
/** The 2.2.0 app and cache containers as the catalog (the vendor's 2.2.0 file) has them, cvat_utils included. */
const STANDINS = cvatCatalog.services("2.2.0").map((s) => s.name).filter((n) => n !== "cvat_db");

/** The component's Commands for 2.2.0 -> 2.3.0, in dependency order, with their resolved env. */
async function registeredSteps(backupDir: string): Promise<{ steps: Step[]; newDbVolume: string }> {
    setMocks();
    const { Cvat } = await import("../../components/cvat");
    const deployed = planChange({ catalog: cvatCatalog, to: "2.2.0", volumeNames: VOLUMES }).next;
    const capture = new Capture();
    const cvat = new Cvat(`${prefix}`, {
        version: "2.3.0", deployed, backupDir, images: IMAGES, volumes: VOLUMES,
        helperImage: TEST_IMAGES.tools, hooksCommand: HOOKS,
        secrets: { dbPassword: pulumi.secret(PASSWORD) },
    }, { transformations: [capture.transformation] });
    const steps = await capturedSteps(capture, `${prefix}-2.2.0-to-2.3.0-`);
    return { steps, newDbVolume: cvat.plan.volumes.find((v) => v.key === "cvat_db")!.name };
}

function cleanup(newVol?: string): void {
    dkQuiet(["rm", "-f", "cvat_db", "cvat_worker_webhooks", ...STANDINS]);
    for (const v of [...Object.values(VOLUMES), newVol].filter(Boolean)) dkQuiet(["volume", "rm", "-f", v!]);
}

describe("CVAT 2.2.0 -> 2.3.0 on a real Docker engine: the component's own command lines, in order", function () {
    let backupDir: string;
    let newDbVolume = "";
    before(() => { backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-cvat-e2e-")); cleanup(); });
    after(() => { cleanup(newDbVolume); fs.rmSync(backupDir, { recursive: true, force: true }); });

    it("backs up, verifies, dumps, restores into the new major on a new volume; every row arrives and the old volume is untouched", async function () {
        const started = Date.now();
        const { steps, newDbVolume: newVol } = await registeredSteps(backupDir);
        console.log(`      registered ${steps.length} steps`);
        newDbVolume = newVol;
        assert.deepStrictEqual(steps.map((s) => s.name), ["preflight", "restore-point", "verify-restore-point", "pg-dump", "pg-restore", "start"]);
        assert.ok(steps.every((s) => !s.create.includes(PASSWORD)), "no secret on a command line");

        // CVAT 2.2.0 as compose runs it: cvat_db on its volume, the app containers beside it.
        runPg("cvat_db", TEST_IMAGES.pg15, VOLUMES.cvat_db, PASSWORD);
        startStandIns(STANDINS, VOLUMES, TEST_IMAGES.tools);
        dk(["exec", "cvat_server", "sh", "-c", "mkdir -p /home/django/data/tasks/1 && head -c 3000000 /dev/urandom > /home/django/data/tasks/1/frame.bin && echo key > /home/django/keys/secret_key.py"]);
        await waitReady("cvat_db");
        psql("cvat_db", "cvat", `
            CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, joined timestamptz NOT NULL);
            CREATE TABLE engine_task (id serial PRIMARY KEY, name text, owner_id int REFERENCES auth_user(id), meta jsonb, data bytea);
            CREATE TABLE engine_job (id serial PRIMARY KEY, task_id int REFERENCES engine_task(id), status text, score numeric(10,4));
            CREATE INDEX ON engine_job (task_id);
            INSERT INTO auth_user (username, joined) SELECT 'user' || g, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 500) g;
            INSERT INTO engine_task (name, owner_id, meta, data) SELECT 'task ' || g, 1 + g % 500, jsonb_build_object('frames', g, 'labels', ARRAY['car','person']), decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g;
            INSERT INTO engine_job (task_id, status, score) SELECT 1 + g % 20000, (ARRAY['new','annotation','validation','completed'])[1 + g % 4], g / 7.0 FROM generate_series(1, 200000) g;
            CREATE ROLE cvat_readonly LOGIN PASSWORD 'ro';`);
        const before = digest("cvat_db", "cvat");

        const run = (name: string) => { const s = steps.find((x) => x.name === name)!; return { out: sh(s.create, s.env) }; };
        for (const name of ["preflight", "restore-point", "verify-restore-point", "pg-dump"]) run(name);
        // The restore point really holds the data, checked by its manifest on disk.
        const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, "cvat", "2.2.0-to-2.3.0-a1-restore-point", "manifest.json"), "utf8"));
        assert.deepStrictEqual(manifest.archives.map((a: { name: string }) => a.name).sort(), Object.values(VOLUMES).sort());
        // The backup started the app again; the dump stopped it for good (it is replaced next).
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", "cvat_server"]).trim(), "false");

        // What the engine does next: the DB container (new image) is deleted and created on the new volume.
        dk(["rm", "-f", "cvat_db"]);
        runPg("cvat_db", TEST_IMAGES.pg17, newDbVolume, PASSWORD);
        await waitReady("cvat_db");
        const restored = run("pg-restore");
        assert.ok(restored.out.trim().split("\n").length <= 1, "stdout stays one small line");

        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^17\./);
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before, "every table, every row, same contents");
        assert.strictEqual(psql("cvat_db", "postgres", "SELECT count(*) FROM pg_roles WHERE rolname='cvat_readonly'"), "1");
        // The old volume is untouched: still a Postgres 15 cluster (the "old major").
        assert.strictEqual(dk(["run", "--rm", "-v", `${VOLUMES.cvat_db}:/d:ro`, TEST_IMAGES.tools, "cat", "/d/PG_VERSION"]).trim(), "15");
        // The engine creates the worker that 2.3.0 adds; then the last step starts what pg-dump
        // stopped and the engine did not replace (here: every other stand-in).
        startStandIns(["cvat_worker_webhooks"], VOLUMES, TEST_IMAGES.tools);
        run("start");
        for (const c of ["cvat_db", ...STANDINS, "cvat_worker_webhooks"]) assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", c]).trim(), "true", `${c} runs again`);
        console.log(`      CVAT 2.2.0 -> 2.3.0 steps took ${((Date.now() - started) / 1000).toFixed(1)} s for 220,500 rows and a 3 MB file`);
    });
});
