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
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { TEST_IMAGES } from "./setup";
import { dk, dkQuiet } from "./pg-helpers";
import { Capture, setMocks, value } from "../unit/mocks";
import { cvatCatalog } from "../../catalog/cvat";
import { planChange } from "../../plan";

const ROOT = path.join(__dirname, "..", "..");
const PASSWORD = "cvat-rb-Secret-51c2";
const prefix = `rb${process.pid}${crypto.randomBytes(2).toString("hex")}`;
const VOLUMES = { cvat_db: `${prefix}_cvat_db`, cvat_data: `${prefix}_cvat_data`, cvat_keys: `${prefix}_cvat_keys`, cvat_logs: `${prefix}_cvat_logs` };
const IMAGES = { "postgres:10-alpine": TEST_IMAGES.pg15, "postgres:15-alpine": TEST_IMAGES.pg17 };
// Every fixed container name of CVAT 2.2.0 and 2.3.0 (the upgrade test's stand-ins included).
const FIXED = [...new Set([...cvatCatalog.services("2.2.0"), ...cvatCatalog.services("2.3.0")].map((s) => s.name))];
// Stand-ins of the 2.3.0 app and cache containers (preflight checks that they exist; backup stops and starts them).
const STANDINS = cvatCatalog.services("2.3.0").map((s) => s.name).filter((n) => n !== "cvat_db");
// `sleep infinity` as PID 1 ignores SIGTERM: every `docker stop` of the backup would wait out its
// 120 s grace. A stand-in that exits on SIGTERM, as the real services do.
const STANDIN_SCRIPT = "trap 'exit 0' TERM; sleep infinity & wait";
const BACKUP_ID = "2.3.0-to-2.2.0-rollback-point";

interface Step { name: string; create: string; env: Record<string, string> }

/** Commands in dependency order (a topological sort of the captured dependsOn edges). */
function inDependencyOrder(capture: Capture, names: string[]): string[] {
    const out: string[] = [];
    const left = new Set(names);
    while (left.size) {
        const ready = [...left].filter((n) => ![...capture.dependsTransitively(n)].some((d) => left.has(d)));
        assert.ok(ready.length === 1, `one next step at a time (the steps are a chain), got: ${ready.join(", ")}`);
        out.push(ready[0]);
        left.delete(ready[0]);
    }
    return out;
}

/** The component's Commands for the rollback 2.3.0 -> 2.2.0, in order, with their resolved env. */
async function registeredRollback(backupDir: string): Promise<{ steps: Step[]; notes: readonly string[]; pg17Volume: string; dbVolume: string }> {
    setMocks();
    const { Cvat } = await import("../../components/cvat");
    const installed = planChange({ catalog: cvatCatalog, to: "2.2.0", volumeNames: VOLUMES }).next;
    const upgraded = planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: installed, volumeNames: VOLUMES }).next;
    const capture = new Capture();
    const cvat = new Cvat(prefix, {
        version: "2.2.0", deployed: upgraded, backupDir, images: IMAGES, volumes: VOLUMES,
        helperImage: TEST_IMAGES.tools, hooksCommand: `node ${path.join(ROOT, "bin", "upshift")}`,
        secrets: { dbPassword: pulumi.secret(PASSWORD) },
    }, { transformations: [capture.transformation] });
    const commands = capture.ofType("command:local:Command");
    const steps: Step[] = [];
    for (const name of inDependencyOrder(capture, commands.map((c) => c.name))) {
        const c = capture.byName(name);
        const env = (await value(c.props.environment as pulumi.Output<Record<string, string>>)) ?? {};
        steps.push({ name: name.slice(`${prefix}-2.3.0-to-2.2.0-`.length), create: c.props.create as string, env });
    }
    return {
        steps, notes: cvat.plan.notes,
        pg17Volume: upgraded.volumes["cvat_db@pg15"].name,
        dbVolume: cvat.plan.volumes.find((v) => v.key === "cvat_db")!.name,
    };
}

function sh(line: string, env: Record<string, string>): string {
    console.log(`      $ ${line.replace(/^node \S+/, "upshift")}`);
    try {
        return execFileSync("sh", ["-c", line], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 16 << 20 });
    } catch (e) {
        const x = e as { stdout?: string; stderr?: string };
        throw new Error(`step failed: ${line}\n${x.stderr ?? ""}${x.stdout ?? ""}`);
    }
}

const psql = (c: string, db: string, sql: string) =>
    dk(["exec", "-i", c, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "root", "-d", db], sql).trim();

/** Row count and sha256 of every public table's ordered contents, computed by the test itself. */
function digest(c: string, db: string): Record<string, string> {
    const tables = psql(c, db, "SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1").split("\n").filter(Boolean);
    const out: Record<string, string> = {};
    for (const t of tables) {
        const rows = psql(c, db, `SELECT count(*) FROM ${t}`);
        const text = dk(["exec", c, "psql", "-X", "-q", "-U", "root", "-d", db, "-c", `COPY (SELECT * FROM ${t} ORDER BY 1) TO STDOUT`]);
        out[t] = `${rows}:${crypto.createHash("sha256").update(text).digest("hex")}`;
    }
    return out;
}

const counts = (d: Record<string, string>) => Object.fromEntries(Object.entries(d).map(([t, v]) => [`public.${t}`, Number(v.split(":")[0])]));

/** The DB's healthcheck, as catalog/cvat.ts declares it (TCP, not the init server's socket). */
async function waitReady(c: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
        try { dk(["exec", c, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "root", "-d", "cvat"]); return; } catch { await new Promise((r) => setTimeout(r, 300)); }
    }
    throw new Error(`${c} did not become ready: ${dk(["logs", "--tail", "20", c])}`);
}

function runPg(name: string, image: string, volume: string): void {
    execFileSync("docker", ["run", "-d", "--name", name, "-e", "POSTGRES_USER=root", "-e", "POSTGRES_DB=cvat", "-e", "POSTGRES_PASSWORD",
        "-v", `${volume}:/var/lib/postgresql/data`, image], { env: { ...process.env, POSTGRES_PASSWORD: PASSWORD }, stdio: ["ignore", "ignore", "pipe"] });
}

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
    for (const v of [...Object.values(VOLUMES), `${prefix}_cvat_db_pg15`, `${prefix}-check`, ...extra]) dkQuiet(["volume", "rm", "-f", v]);
}

describe("CVAT rollback 2.3.0 -> 2.2.0 on a real Docker engine: the component's own command lines, in order", function () {
    let backupDir: string;
    before(() => { backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-cvat-rb-")); cleanup(); });
    after(() => { cleanup(); fs.rmSync(backupDir, { recursive: true, force: true }); });

    it("a rollback from the Postgres 17 data back to the retained Postgres 15 volume brings the old data back and saves the newer data in a backup first", async function () {
        const started = Date.now();
        const { steps, notes, pg17Volume, dbVolume } = await registeredRollback(backupDir);
        assert.deepStrictEqual(steps.map((s) => s.name), ["preflight", "rollback-point", "verify-rollback-point", "reattach-cvat_db"]);
        assert.strictEqual(dbVolume, VOLUMES.cvat_db, "2.2.0 runs on the retained volume again");
        assert.strictEqual(pg17Volume, `${prefix}_cvat_db_pg15`);
        assert.ok(steps.every((s) => !s.create.includes(PASSWORD)), "no secret on a command line");
        assert.ok(notes.some((n) => n.includes(`cvat/${BACKUP_ID}`)), `the preview says where the newer data is saved: ${notes.join(" | ")}`);
        assert.match(steps[2].create, new RegExp(`--test-restore --pg-image ${TEST_IMAGES.pg17}`));

        // 2.2.0's data on the volume the upgrade retained (the older major), shut down cleanly.
        runPg(`${prefix}-old`, TEST_IMAGES.pg15, VOLUMES.cvat_db);
        await waitReady(`${prefix}-old`);
        psql(`${prefix}-old`, "cvat", CVAT_SCHEMA + ROWS(300, 2000, 20000));
        const oldDigest = digest(`${prefix}-old`, "cvat");
        dk(["stop", "--time", "60", `${prefix}-old`]);
        dk(["rm", `${prefix}-old`]);

        // CVAT 2.3.0 as it runs now: cvat_db (the newer major) on the new volume with newer rows and a
        // table 2.2.0 never had, and the app containers beside it.
        runPg("cvat_db", TEST_IMAGES.pg17, pg17Volume);
        for (const s of STANDINS) {
            dk(["run", "-d", "--name", s, "-v", `${VOLUMES.cvat_data}:/home/django/data`, "-v", `${VOLUMES.cvat_keys}:/home/django/keys`,
                "-v", `${VOLUMES.cvat_logs}:/home/django/logs`, TEST_IMAGES.tools, "sh", "-c", STANDIN_SCRIPT]);
        }
        dk(["exec", "cvat_server", "sh", "-c", "mkdir -p /home/django/data/tasks/1 && head -c 2000000 /dev/urandom > /home/django/data/tasks/1/frame.bin && echo key > /home/django/keys/secret_key.py"]);
        await waitReady("cvat_db");
        psql("cvat_db", "cvat", CVAT_SCHEMA + ROWS(450, 2600, 27000) + `
            CREATE TABLE engine_newfeature (id serial PRIMARY KEY, job_id int REFERENCES engine_job(id), note text);
            INSERT INTO engine_newfeature (job_id, note) SELECT g, 'made on 2.3.0' FROM generate_series(1, 1500) g;`);
        const newDigest = digest("cvat_db", "cvat");
        assert.notDeepStrictEqual(newDigest, oldDigest);

        const stepsStarted = Date.now();
        const run = (name: string) => { const s = steps.find((x) => x.name === name)!; return sh(s.create, s.env); };
        for (const s of steps) run(s.name);
        const stepsSeconds = (Date.now() - stepsStarted) / 1000;
        // The backup started what it stopped: 2.3.0 is still whole until the engine replaces cvat_db.
        for (const c of ["cvat_db", ...STANDINS]) assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", c]).trim(), "true", c);

        // What the engine does next: cvat_db (2.2.0's image) is deleted and created on the retained volume.
        dk(["rm", "-f", "cvat_db"]);
        runPg("cvat_db", TEST_IMAGES.pg15, dbVolume);
        await waitReady("cvat_db");
        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^15\./);
        assert.deepStrictEqual(digest("cvat_db", "cvat"), oldDigest, "the old rows are back, exactly, and nothing newer");

        // The rollback point: made at 2.3.0 of 2.3.0's volumes, verified with a Postgres 17 that answered the newer counts.
        const bdir = path.join(backupDir, "cvat", BACKUP_ID);
        const manifest = JSON.parse(fs.readFileSync(path.join(bdir, "manifest.json"), "utf8"));
        assert.strictEqual(manifest.label, "rollback-point");
        assert.strictEqual(manifest.version, "2.3.0");
        assert.deepStrictEqual(manifest.archives.map((a: { name: string }) => a.name).sort(),
            [pg17Volume, VOLUMES.cvat_data, VOLUMES.cvat_keys, VOLUMES.cvat_logs].sort());
        const verified = JSON.parse(fs.readFileSync(path.join(bdir, "verified.json"), "utf8"));
        assert.strictEqual(verified.pgImage, TEST_IMAGES.pg17);
        const answered = verified.checks.postgres.archives[pg17Volume];
        assert.match(answered.server, /^17\./);
        assert.strictEqual(answered.superuser, "root");
        assert.deepStrictEqual(answered.databases.cvat.tables, counts(newDigest), "the verification counted the newer rows");

        // And the backup really holds the newer data: restored into a throwaway volume, Postgres 17 serves it.
        const check = `${prefix}-check`;
        sh(`node ${path.join(ROOT, "bin", "upshift")} restore --backup ${bdir} --volume ${pg17Volume}=${check} --helper-image ${TEST_IMAGES.tools}`, {});
        runPg(check, TEST_IMAGES.pg17, check);
        await waitReady(check);
        assert.deepStrictEqual(digest(check, "cvat"), newDigest, "every newer row is in the rollback point");
        // The 2.3.0 volume itself is retained, untouched (another rollforward can use it).
        assert.strictEqual(dk(["run", "--rm", "-v", `${pg17Volume}:/d:ro`, TEST_IMAGES.tools, "cat", "/d/PG_VERSION"]).trim(), "17");
        const rows = (d: Record<string, string>) => Object.values(d).reduce((a, v) => a + Number(v.split(":")[0]), 0);
        console.log(`      rollback steps took ${stepsSeconds.toFixed(1)} s (backup of 4 volumes, verify with a Postgres 17 test start); `
            + `whole test ${((Date.now() - started) / 1000).toFixed(1)} s; ${rows(oldDigest)} old rows back, ${rows(newDigest)} newer rows saved, `
            + `backup ${(manifest.archives.reduce((a: number, x: { bytes: number }) => a + x.bytes, 0) / 1048576).toFixed(1)} MiB`);
    });
});
