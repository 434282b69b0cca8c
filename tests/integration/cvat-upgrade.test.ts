// CVAT 2.2.0 -> 2.3.0 for real: the exact command lines the CVAT component registers (captured
// under Pulumi mocks, as the engine would run them) are run in their order against real
// containers. The images are overridden to local ones: Postgres 15 plays the old major (CVAT's
// 10) and Postgres 17 the new one (CVAT's 15). Between the steps, the test does what the engine
// does to the DB container: delete it and create the new one on the new volume.
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
const PASSWORD = "cvat-e2e-Secret-9f3b";
const prefix = `e2e${process.pid}`;
const VOLUMES = { cvat_db: `${prefix}_cvat_db`, cvat_data: `${prefix}_cvat_data`, cvat_keys: `${prefix}_cvat_keys`, cvat_logs: `${prefix}_cvat_logs` };
const IMAGES = { "postgres:10-alpine": TEST_IMAGES.pg15, "postgres:15-alpine": TEST_IMAGES.pg17 };
const STANDINS = ["cvat_opa", "cvat_redis", "cvat_server", "cvat_ui", "cvat_worker_default", "cvat_worker_low", "traefik"];

interface Step { name: string; create: string; env: Record<string, string> }

/** The component's Commands for 2.2.0 -> 2.3.0, in dependency order, with their resolved env. */
async function registeredSteps(backupDir: string): Promise<{ steps: Step[]; newDbVolume: string }> {
    setMocks();
    const { Cvat } = await import("../../components/cvat");
    const deployed = planChange({ catalog: cvatCatalog, to: "2.2.0", volumeNames: VOLUMES }).next;
    const capture = new Capture();
    const cvat = new Cvat(`${prefix}`, {
        version: "2.3.0", deployed, backupDir, images: IMAGES, volumes: VOLUMES,
        helperImage: TEST_IMAGES.tools, hooksCommand: `node ${path.join(ROOT, "bin", "upshift")}`,
        secrets: { dbPassword: pulumi.secret(PASSWORD) },
    }, { transformations: [capture.transformation] });
    const commands = capture.ofType("command:local:Command");
    // Order by dependencies (each step depends on the one before it, or on containers that do).
    const order = [...commands].sort((a, b) => (capture.dependsTransitively(b.name).has(a.name) ? -1 : capture.dependsTransitively(a.name).has(b.name) ? 1 : 0));
    const steps: Step[] = [];
    for (const c of order) {
        // What the engine passes: each environment value resolved (secrets included, never on argv).
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries((c.props.environment ?? {}) as Record<string, pulumi.Input<string>>)) env[k] = (await value(v))!;
        steps.push({ name: c.name.slice(`${prefix}-2.2.0-to-2.3.0-`.length), create: c.props.create as string, env });
    }
    return { steps, newDbVolume: cvat.plan.volumes.find((v) => v.key === "cvat_db")!.name };
}

function sh(line: string, env: Record<string, string>): { out: string; err: string } {
    console.log(`      $ ${line.replace(/^node \S+/, "upshift")}`);
    try {
        const r = execFileSync("sh", ["-c", line], { cwd: ROOT, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 16 << 20 });
        return { out: r, err: "" };
    } catch (e) {
        const x = e as { stdout?: string; stderr?: string };
        throw new Error(`step failed: ${line}\n${x.stderr ?? ""}${x.stdout ?? ""}`);
    }
}

const psql = (c: string, db: string, sql: string) =>
    dk(["exec", "-i", c, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "root", "-d", db], sql).trim();

/** Row count and sha256 of every table's ordered contents, computed by the test itself. */
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

/** The DB's healthcheck, as catalog/cvat.ts declares it (TCP, not the init server's socket). */
async function waitReady(c: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
        try { dk(["exec", c, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "root", "-d", "cvat"]); return; } catch { await new Promise((r) => setTimeout(r, 300)); }
    }
    throw new Error(`${c} did not become ready`);
}

function cleanup(newVol?: string): void {
    dkQuiet(["rm", "-f", "cvat_db", ...STANDINS]);
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
        assert.deepStrictEqual(steps.map((s) => s.name), ["preflight", "restore-point", "verify-restore-point", "pg-dump", "pg-restore"]);
        assert.ok(steps.every((s) => !s.create.includes(PASSWORD)), "no secret on a command line");

        // CVAT 2.2.0 as compose runs it: cvat_db on its volume, the app containers beside it.
        execFileSync("docker", ["run", "-d", "--name", "cvat_db", "-e", "POSTGRES_USER=root", "-e", "POSTGRES_DB=cvat", "-e", "POSTGRES_PASSWORD",
            "-v", `${VOLUMES.cvat_db}:/var/lib/postgresql/data`, TEST_IMAGES.pg15], { env: { ...process.env, POSTGRES_PASSWORD: PASSWORD }, stdio: "ignore" });
        for (const s of STANDINS) {
            dk(["run", "-d", "--init", "--name", s, "-v", `${VOLUMES.cvat_data}:/home/django/data`, "-v", `${VOLUMES.cvat_keys}:/home/django/keys`,
                "-v", `${VOLUMES.cvat_logs}:/home/django/logs`, TEST_IMAGES.tools, "sleep", "infinity"]);
        }
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

        const run = (name: string) => sh(steps.find((s) => s.name === name)!.create, steps.find((s) => s.name === name)!.env);
        for (const name of ["preflight", "restore-point", "verify-restore-point", "pg-dump"]) run(name);
        // The restore point really holds the data, checked by its manifest on disk.
        const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, "cvat", "2.2.0-to-2.3.0-restore-point", "manifest.json"), "utf8"));
        assert.deepStrictEqual(manifest.archives.map((a: { name: string }) => a.name).sort(), Object.values(VOLUMES).sort());
        // The backup started the app again; the dump stopped it for good (it is replaced next).
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", "cvat_server"]).trim(), "false");

        // What the engine does next: the DB container (new image) is deleted and created on the new volume.
        dk(["rm", "-f", "cvat_db"]);
        execFileSync("docker", ["run", "-d", "--name", "cvat_db", "-e", "POSTGRES_USER=root", "-e", "POSTGRES_DB=cvat", "-e", "POSTGRES_PASSWORD",
            "-v", `${newDbVolume}:/var/lib/postgresql/data`, TEST_IMAGES.pg17], { env: { ...process.env, POSTGRES_PASSWORD: PASSWORD }, stdio: "ignore" });
        await waitReady("cvat_db");
        const restored = run("pg-restore");
        assert.ok(restored.out.trim().split("\n").length <= 1, "stdout stays one small line");

        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^17\./);
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before, "every table, every row, same contents");
        assert.strictEqual(psql("cvat_db", "postgres", "SELECT count(*) FROM pg_roles WHERE rolname='cvat_readonly'"), "1");
        // The old volume is untouched: still a Postgres 15 cluster (the "old major").
        assert.strictEqual(dk(["run", "--rm", "-v", `${VOLUMES.cvat_db}:/d:ro`, TEST_IMAGES.tools, "cat", "/d/PG_VERSION"]).trim(), "15");
        console.log(`      CVAT 2.2.0 -> 2.3.0 steps took ${((Date.now() - started) / 1000).toFixed(1)} s for 220,500 rows and a 3 MB file`);
    });
});
