// Postgres 15 -> 17 with the real engine and real servers (upshift-test/postgres:15 plays the old
// major, :17 the new, upshift-test/pg-upgrade:15-to-17 the pg_upgrade helper with both majors'
// binaries): pg-migrate by pg_upgrade onto a new volume, its fallback to dump/restore when
// pg_upgrade --check refuses, dump/restore itself, the pg-dump + pg-restore pair on two running
// containers (the CVAT component's path), failed verifications, refusals and --stop. Every table
// is compared by row count and a sha256 of its ordered COPY text, computed here, not by the hooks.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TEST_IMAGES } from "./setup";
import {
    cli,
    CliResult,
    cliKilledWhen,
    Digest,
    dk,
    dkQuiet,
    lastJson,
    psql,
    startPg,
    tableDigest,
    waitPg,
} from "./pg-helpers";

const PW = `pw-${crypto.randomBytes(9).toString("hex")}`;
const APP_PW = `app-${crypto.randomBytes(9).toString("hex")}`;
const ENV = { PGPASSWORD: PW };
// Names unique per run: several suites (or developers) may share this engine at the same time.
const RUN = crypto.randomBytes(3).toString("hex");
const SRC = `upshift-t-pg15-src-${RUN}`;
const SRC_VOL = `upshift-t-pg15-vol-${RUN}`;
const NEW_VOL = `upshift-t-pg17-vol-${RUN}`;
const MIG = `upshift-t-pg17-mig-${RUN}`;
const CVAT = `upshift-t-pg17-cvat-${RUN}`;
const OTHER = `upshift-t-pg17-other-${RUN}`;
const PLAIN_VOL = `upshift-t-pg17-plain-vol-${RUN}`;
const WRITER = `upshift-t-pg-writer-${RUN}`;
const KILLED = `upshift-t-pg17-killed-${RUN}`;
const REG = `upshift-t-pg15-reg-${RUN}`;
const REG_VOL = `upshift-t-pg15-reg-vol-${RUN}`;
const REG_NEW = `upshift-t-pg17-reg-vol-${RUN}`;
const DUMP_VOL = `upshift-t-pg17-dump-vol-${RUN}`;

/** Every table of the source, with the order its digest uses. */
const TABLES: { db: string; table: string; order: string }[] = [
    { db: "cvat", table: "public.engine_job", order: "id" },
    { db: "cvat", table: "public.engine_label", order: "id" },
    { db: "cvat", table: "public.engine_empty", order: "id" },
    { db: "analytics", table: "public.events", order: "seq" },
    { db: "Weird DB", table: `"Mixed Case"."Table.1"`, order: "1" },
];

// ~110 MB of heap: jsonb, text, bytea (incompressible), numeric, timestamps, a float, indexes, an
// FK, a table without a primary key, a large object, quoted names, a role with a password.
const SEED_GLOBAL = `
CREATE ROLE appuser LOGIN PASSWORD '${APP_PW}';
CREATE DATABASE cvat;
CREATE DATABASE analytics OWNER appuser;
CREATE DATABASE "Weird DB";`;
const SEED_CVAT = `
CREATE TABLE engine_job (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, status text, meta jsonb, score numeric(14,4),
  created_at timestamptz, updated_at timestamp, payload bytea, ratio float8);
INSERT INTO engine_job (name, status, meta, score, created_at, updated_at, payload, ratio)
SELECT 'job-' || i || '-' || md5(i::text), (ARRAY['new','annotation','validation','completed'])[1 + i % 4],
  jsonb_build_object('frame', i, 'labels', jsonb_build_array('car', 'person', i % 7),
    'attrs', jsonb_build_object('occluded', i % 2 = 0, 'note', md5(i::text) || md5((i * 7)::text)), 'size', jsonb_build_array(i % 1920, i % 1080)),
  (i * 3.14159)::numeric(14,4), '2020-01-01 00:00:00+00'::timestamptz + i * interval '37 seconds', '2021-06-01'::timestamp + i * interval '1 minute',
  decode(md5(random()::text) || md5(random()::text) || md5(i::text) || md5((i + 1)::text), 'hex'), i / 7.0
FROM generate_series(1, 200000) i;
CREATE INDEX engine_job_status_created ON engine_job (status, created_at);
CREATE TABLE engine_label (id serial PRIMARY KEY, job_id bigint REFERENCES engine_job(id), title text, attrs jsonb);
INSERT INTO engine_label (job_id, title, attrs) SELECT 1 + i % 200000, 'label ' || i, jsonb_build_object('color', '#' || substr(md5(i::text), 1, 6))
FROM generate_series(1, 50000) i;
CREATE TABLE engine_empty (id int PRIMARY KEY);
SELECT lo_from_bytea(0, decode(repeat('ab', 5000), 'hex'));`;
const SEED_ANALYTICS = `
CREATE TABLE events (seq int NOT NULL, ts timestamptz, kind text, body jsonb, data bytea);
INSERT INTO events SELECT i, now() - i * interval '1 second', 'kind-' || (i % 13),
  jsonb_build_object('user', i % 977, 'path', '/api/tasks/' || i, 'agent', repeat(md5(i::text), 3), 'n', i * 1.5),
  decode(md5(random()::text) || md5(random()::text), 'hex')
FROM generate_series(1, 150000) i;
CREATE INDEX events_ts ON events (ts);
ALTER TABLE events OWNER TO appuser;`;
const SEED_WEIRD = `
CREATE SCHEMA "Mixed Case";
CREATE TABLE "Mixed Case"."Table.1" ("Id" int, "Name|x" text, "new
line" text);
INSERT INTO "Mixed Case"."Table.1" SELECT i, 'a|b''c', E'x\\ny' FROM generate_series(1, 100) i;`;

async function digests(container: string): Promise<Record<string, Digest>> {
    const out: Record<string, Digest> = {};
    for (const t of TABLES) out[`${t.db}/${t.table}`] = await tableDigest(container, t.db, t.table, t.order);
    return out;
}

describe("Postgres 15 -> 17 (real engine, upshift-test/postgres:15 and :17)", function () {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-pg-"));
    const outputs: CliResult[] = [];
    let src: Record<string, Digest>;
    let heapBytes = 0;
    const run = async (args: string[]) => {
        const r = await cli(args, ENV);
        outputs.push(r);
        return r;
    };
    const timing: string[] = [];
    let t0 = 0;
    beforeEach(() => {
        t0 = Date.now();
    });
    afterEach(function () {
        timing.push(`${this.currentTest?.title}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    });

    before(async function () {
        const start = Date.now();
        for (const c of [SRC, MIG, CVAT, OTHER, WRITER, KILLED, REG]) dkQuiet(["rm", "-f", c]);
        for (const v of [SRC_VOL, NEW_VOL, PLAIN_VOL, REG_VOL, REG_NEW, DUMP_VOL]) dkQuiet(["volume", "rm", v]);
        await startPg(SRC, TEST_IMAGES.pg15, { POSTGRES_PASSWORD: PW }, SRC_VOL);
        psql(SRC, "postgres", SEED_GLOBAL);
        psql(SRC, "cvat", SEED_CVAT);
        psql(SRC, "analytics", SEED_ANALYTICS);
        psql(SRC, "Weird DB", SEED_WEIRD);
        for (const db of ["cvat", "analytics"]) {
            heapBytes += Number(
                psql(
                    SRC,
                    db,
                    "SELECT sum(pg_table_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'",
                ),
            );
        }
        src = await digests(SRC);
        timing.push(
            `seed ${(heapBytes / 1048576).toFixed(0)} MB of table data (+ indexes), ${Object.values(src).reduce((a, d) => a + d.rows, 0)} rows: ${((Date.now() - start) / 1000).toFixed(1)} s`,
        );
    });

    after(function () {
        for (const c of [SRC, MIG, CVAT, OTHER, WRITER, KILLED, REG]) dkQuiet(["rm", "-f", c]);
        for (const v of [SRC_VOL, NEW_VOL, PLAIN_VOL, REG_VOL, REG_NEW, DUMP_VOL]) dkQuiet(["volume", "rm", v]);
        fs.rmSync(work, { recursive: true, force: true });
        process.stderr.write(`\n  Postgres test times:\n${timing.map((l) => `    ${l}\n`).join("")}`);
    });

    it("the source holds at least 100 MB of table data", () => {
        assert.ok(heapBytes >= 100 * 1048576, `only ${heapBytes} bytes`);
    });

    it("pg-migrate by pg_upgrade (the default with a helper image) moves every row onto a new volume (counts and sha256 per table equal), leaves the old one as it was, and a rerun does nothing", async () => {
        const args = [
            "pg-migrate",
            "--container",
            SRC,
            "--new-image",
            TEST_IMAGES.pg17,
            "--new-volume",
            NEW_VOL,
            "--work",
            path.join(work, "migrate"),
            "--upgrade-image",
            TEST_IMAGES.pgUpgrade,
        ];
        const r = await run(args);
        assert.strictEqual(r.code, 0, r.stderr);
        const j = lastJson(r);
        assert.strictEqual(j.ok, true);
        assert.strictEqual(j.verified, true);
        assert.strictEqual(j.method, "pg_upgrade", r.stderr);
        assert.strictEqual(j.amcheck, "indexes");
        assert.match(r.stderr, /pg_amcheck: no problems in any index/);
        timing.push(`  pg-migrate (pg_upgrade) itself: ${r.seconds.toFixed(1)} s (${JSON.stringify(j.times)})`);
        // pg_upgrade needs the old server down; the helper and the temporary container are gone.
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", SRC]).trim(), "false");
        assert.throws(() => dk(["container", "inspect", `upshift-pg-upgrade-${NEW_VOL}-verify`]));
        await startPg(MIG, TEST_IMAGES.pg17, { POSTGRES_PASSWORD: "ignored-volume-is-initialised" }, NEW_VOL);
        assert.match(psql(MIG, "postgres", "SELECT version()"), /PostgreSQL 17/);
        assert.deepStrictEqual(await digests(MIG), src);
        assert.strictEqual(psql(MIG, "cvat", "SELECT count(*) FROM pg_largeobject_metadata"), "1");
        assert.strictEqual(psql(MIG, "cvat", "SELECT nextval('engine_job_id_seq')"), "200001");
        // amcheck was installed only for the check: it is gone again.
        assert.strictEqual(psql(MIG, "cvat", "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'"), "0");
        // vacuumdb --analyze-in-stages left statistics.
        assert.notStrictEqual(psql(MIG, "cvat", "SELECT count(*) FROM pg_stats WHERE tablename = 'engine_job'"), "0");
        // The role came with its password (scram over TCP, not the trusted socket).
        assert.strictEqual(
            dk([
                "exec",
                "-e",
                `PGPASSWORD=${APP_PW}`,
                MIG,
                "psql",
                "-X",
                "-At",
                "-h",
                "127.0.0.1",
                "-U",
                "appuser",
                "-d",
                "analytics",
                "-c",
                "SELECT count(*) FROM events",
            ]).trim(),
            "150000",
        );
        // The old cluster was only read (its volume was mounted read-only): it starts and holds the same rows.
        dk(["start", SRC]);
        await waitPg(SRC);
        assert.match(psql(SRC, "postgres", "SELECT version()"), /PostgreSQL 15/);
        assert.deepStrictEqual(await digests(SRC), src);
        dk(["rm", "-f", MIG]);
        const again = await run(args);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.strictEqual(lastJson(again).alreadyDone, true);
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", SRC]).trim(), "true");
    });

    it("pg-migrate falls back to dump/restore when pg_upgrade --check refuses (a regproc column), says why, and verifies; --method upgrade fails instead", async () => {
        await startPg(REG, TEST_IMAGES.pg15, { POSTGRES_PASSWORD: PW }, REG_VOL);
        psql(
            REG,
            "postgres",
            "CREATE TABLE fns (id int PRIMARY KEY, f regproc); INSERT INTO fns SELECT i, 'now' FROM generate_series(1, 1000) i;",
        );
        const before = await tableDigest(REG, "postgres", "public.fns", "id");
        const strict = await run([
            "pg-migrate",
            "--container",
            REG,
            "--new-image",
            TEST_IMAGES.pg17,
            "--new-volume",
            REG_NEW,
            "--work",
            path.join(work, "reg-strict"),
            "--upgrade-image",
            TEST_IMAGES.pgUpgrade,
            "--method",
            "upgrade",
        ]);
        assert.strictEqual(strict.code, 1);
        assert.match(strict.stderr, /pg_upgrade cannot be used \(--method upgrade\):.*reg\*/);
        // Refused before anything was written: our volume is gone again and the old server runs.
        assert.throws(() => dk(["volume", "inspect", REG_NEW]));
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", REG]).trim(), "true");

        const r = await run([
            "pg-migrate",
            "--container",
            REG,
            "--new-image",
            TEST_IMAGES.pg17,
            "--new-volume",
            REG_NEW,
            "--work",
            path.join(work, "reg"),
            "--upgrade-image",
            TEST_IMAGES.pgUpgrade,
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        const j = lastJson(r);
        assert.strictEqual(j.method, "dump");
        assert.match(String(j.fallback), /reg\*/);
        assert.match(r.stderr, /falling back to dump and restore/);
        await startPg(MIG, TEST_IMAGES.pg17, { POSTGRES_PASSWORD: PW }, REG_NEW);
        assert.deepStrictEqual(await tableDigest(MIG, "postgres", "public.fns", "id"), before);
        dk(["rm", "-f", MIG, REG]);
    });

    it("pg-migrate --method dump (dump/restore) also moves every row onto a new volume; without a helper image, auto says it falls back", async () => {
        const r = await run([
            "pg-migrate",
            "--method",
            "dump",
            "--container",
            SRC,
            "--new-image",
            TEST_IMAGES.pg17,
            "--new-volume",
            DUMP_VOL,
            "--work",
            path.join(work, "dump-migrate"),
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(lastJson(r).method, "dump");
        assert.strictEqual(lastJson(r).fallback, undefined);
        timing.push(`  pg-migrate --method dump: ${r.seconds.toFixed(1)} s`);
        await startPg(MIG, TEST_IMAGES.pg17, { POSTGRES_PASSWORD: PW }, DUMP_VOL);
        assert.deepStrictEqual(await digests(MIG), src);
        dk(["rm", "-f", MIG]);
        dk(["volume", "rm", DUMP_VOL]);
    });

    it("pg-dump (new major's tools, --stop a writer) then pg-restore into a running 17 container with POSTGRES_DB=cvat (the CVAT path); a rerun only verifies", async () => {
        // A stand-in for the app server: it exits on SIGTERM at once (a bare sleep as PID 1 would not).
        dk(["run", "-d", "--name", WRITER, TEST_IMAGES.tools, "sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]);
        const dump = path.join(work, "dump");
        const d = await run([
            "pg-dump",
            "--container",
            SRC,
            "--image",
            TEST_IMAGES.pg17,
            "--out",
            dump,
            "--stop",
            WRITER,
        ]);
        assert.strictEqual(d.code, 0, d.stderr);
        assert.strictEqual(lastJson(d).databases, 4);
        assert.ok(!fs.existsSync(`${dump}.partial`));
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", WRITER]).trim(), "false");
        timing.push(`  pg-dump: ${d.seconds.toFixed(1)} s, ${(Number(lastJson(d).bytes) / 1048576).toFixed(0)} MB`);

        await startPg(CVAT, TEST_IMAGES.pg17, { POSTGRES_PASSWORD: PW, POSTGRES_DB: "cvat" });
        const r = await run(["pg-restore", "--container", CVAT, "--from", dump]);
        assert.strictEqual(r.code, 0, r.stderr);
        const j = lastJson(r);
        assert.deepStrictEqual(j.actions, {
            analytics: "create",
            cvat: "into",
            postgres: "into",
            "Weird DB": "create",
        });
        timing.push(`  pg-restore: ${r.seconds.toFixed(1)} s`);
        assert.deepStrictEqual(await digests(CVAT), src);
        assert.strictEqual(
            psql(
                CVAT,
                "postgres",
                "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'analytics'",
            ),
            "appuser",
        );

        const again = await run(["pg-restore", "--container", CVAT, "--from", dump]);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.deepStrictEqual(lastJson(again).actions, {
            analytics: "verify",
            cvat: "verify",
            postgres: "verify",
            "Weird DB": "verify",
        });
    });

    it("pg-restore killed in the middle of a database it created, then of the pre-existing cvat database: each rerun redoes only that database and the end result verifies", async () => {
        const dump = path.join(work, "dump");
        await startPg(KILLED, TEST_IMAGES.pg17, { POSTGRES_PASSWORD: PW, POSTGRES_DB: "cvat" });
        const args = ["pg-restore", "--container", KILLED, "--from", dump];
        const k1 = await cliKilledWhen(args, { ...ENV, UPSHIFT_PROGRESS_MS: "500" }, /restore analytics: [1-9]/);
        outputs.push(k1);
        const k2 = await cliKilledWhen(args, { ...ENV, UPSHIFT_PROGRESS_MS: "500" }, /restore cvat: [1-9]/);
        outputs.push(k2);
        assert.match(k2.stderr, /restored analytics/);
        const r = await run(args);
        assert.strictEqual(r.code, 0, r.stderr);
        const actions = lastJson(r).actions as Record<string, string>;
        assert.strictEqual(actions.cvat, "reload");
        assert.strictEqual(actions.analytics, "verify");
        assert.deepStrictEqual(await digests(KILLED), src);
        dk(["rm", "-f", KILLED]);
    });

    it("a target that no longer matches the dump fails verification with a diff (a changed row, an extra row)", async () => {
        const dump = path.join(work, "dump");
        psql(CVAT, "cvat", "UPDATE engine_job SET status = 'tampered' WHERE id = 4242");
        psql(CVAT, "analytics", "INSERT INTO events (seq) VALUES (-1)");
        const r = await run(["pg-restore", "--container", CVAT, "--from", dump]);
        assert.strictEqual(r.code, 1);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /verification failed/);
        assert.match(r.stderr, /cvat: table public\.engine_job content differs \(same 200000 rows/);
        assert.match(r.stderr, /analytics: table public\.events has 150001 rows, dump has 150000/);
        // A finished database is never dropped to "fix" it: the tampered row is still there.
        assert.strictEqual(psql(CVAT, "cvat", "SELECT status FROM engine_job WHERE id = 4242"), "tampered");
    });

    it("pg-restore refuses a target database with data it did not restore, before touching anything", async () => {
        await startPg(OTHER, TEST_IMAGES.pg17, { POSTGRES_PASSWORD: PW });
        psql(OTHER, "postgres", "CREATE DATABASE analytics");
        psql(OTHER, "analytics", "CREATE TABLE mine (x int); INSERT INTO mine SELECT generate_series(1, 10)");
        const r = await run(["pg-restore", "--container", OTHER, "--from", path.join(work, "dump")]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /refusing to restore: database analytics already exists .* upshift did not restore/);
        assert.strictEqual(psql(OTHER, "analytics", "SELECT count(*) FROM mine"), "10");
        assert.strictEqual(
            psql(OTHER, "postgres", "SELECT count(*) FROM pg_database WHERE datname IN ('cvat', 'Weird DB')"),
            "0",
        );
        assert.strictEqual(psql(OTHER, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'appuser'"), "0");
    });

    it("pg-migrate refuses a non-empty volume it did not fill; pg-dump --stop starts the writer again when the dump fails", async () => {
        // OTHER's data lives in its container layer; give a volume some foreign content instead.
        dk(["volume", "create", PLAIN_VOL]);
        dk(["run", "--rm", "-v", `${PLAIN_VOL}:/v`, TEST_IMAGES.tools, "sh", "-c", "echo precious > /v/file"]);
        const m = await run([
            "pg-migrate",
            "--container",
            SRC,
            "--new-image",
            TEST_IMAGES.pg17,
            "--new-volume",
            PLAIN_VOL,
            "--work",
            path.join(work, "refused"),
        ]);
        assert.strictEqual(m.code, 1);
        assert.match(m.stderr, /is not empty and was not filled by upshift/);
        assert.strictEqual(
            dk(["run", "--rm", "-v", `${PLAIN_VOL}:/v`, TEST_IMAGES.tools, "cat", "/v/file"]).trim(),
            "precious",
        );
        dk(["volume", "rm", PLAIN_VOL]);

        dk(["start", WRITER]);
        const d = await run([
            "pg-dump",
            "--container",
            SRC,
            "--image",
            TEST_IMAGES.pg17,
            "--user",
            "nosuchrole",
            "--out",
            path.join(work, "failed"),
            "--stop",
            WRITER,
        ]);
        assert.strictEqual(d.code, 1);
        assert.match(d.stderr, new RegExp(`starting ${WRITER} again`));
        assert.strictEqual(dk(["inspect", "-f", "{{.State.Running}}", WRITER]).trim(), "true");
        assert.ok(!fs.existsSync(path.join(work, "failed")));
    });

    it("pg-migrate --plain (the vendor's pg_dumpall | psql) also keeps every row, and is verified the same way", async () => {
        const r = await run([
            "pg-migrate",
            "--method",
            "dump",
            "--plain",
            "--container",
            SRC,
            "--new-image",
            TEST_IMAGES.pg17,
            "--new-volume",
            PLAIN_VOL,
            "--work",
            path.join(work, "plain"),
        ]);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(lastJson(r).mode, "plain");
        timing.push(`  pg-migrate --plain: ${r.seconds.toFixed(1)} s`);
        await startPg(MIG, TEST_IMAGES.pg17, { POSTGRES_PASSWORD: PW }, PLAIN_VOL);
        assert.deepStrictEqual(await digests(MIG), src);
    });

    it("no secret (superuser or role password) appears in any hook's stdout or stderr", () => {
        assert.ok(outputs.length >= 8);
        for (const o of outputs) {
            for (const s of [PW, APP_PW]) {
                assert.ok(!o.stdout.includes(s) && !o.stderr.includes(s), "a password was printed");
            }
        }
    });
});
