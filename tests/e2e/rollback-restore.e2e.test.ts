// A rollback that restores a restore point (CVAT 2.4.0 -> 2.3.0: one Postgres major, a migrated
// schema), with that restore point's archive corrupted first: under the REAL Pulumi engine (file
// backend), REAL Docker and Postgres. STAND-INS: the provider plugins and the app images
// (tests/e2e/standins/README.md; ClickHouse and OPA are the idle stand-in). The fault matrix's row
// "corrupted archive before the rollback's restore" (issue 12): refused at the rollback's first
// step, before anything is stopped; once the archive is whole again, the rerun rolls back.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { TEST_IMAGES } from "../integration/setup";
import { digest, psql, waitReady } from "../integration/cvat-steps";
import { Deployed, mediaSums, names, PASSWORD, tryClean } from "./cvat-fixture";
import { assertAllServing, buildStandins, CVAT_IMAGES, dk, dkQuiet, E2EStack, running, standin } from "./harness";

const IMAGES: Record<string, string> = {
    ...CVAT_IMAGES,
    "cvat/server:v2.4.0": standin("cvat-2.4.0"),
    "cvat/ui:v2.4.0": standin("cvat-2.4.0"),
    "clickhouse/clickhouse-server:22.3-alpine": standin("static"),
    "openpolicyagent/opa:0.45.0-rootless": standin("static"),
};

describe("e2e: a CVAT rollback whose restore point was corrupted, real Pulumi engine, real Docker and Postgres; stand-in providers and app images", function () {
    this.timeout(30 * 60 * 1000);
    const stack = new E2EStack("e2e-rbrestore");
    let rows230: Record<string, string>;
    let rows240: Record<string, string>;
    let media: string;
    const cleanAll = () => {
        tryClean();
        for (const c of names("2.4.0")) dkQuiet(["rm", "-f", c]);
    };

    before(async () => {
        buildStandins(["cvat-2.3.0", "cvat-2.4.0", "static"]);
        cleanAll();
        await stack.init();
        stack.writeConfig([
            `upshift:backupDir: ${stack.backupDir}`,
            `upshift:helperImage: ${TEST_IMAGES.tools}`,
            "cvat:version: 2.3.0",
            "cvat:images:",
            ...Object.entries(IMAGES).map(([k, v]) => `  ${JSON.stringify(k)}: ${v}`),
        ]);
        await stack.config("cvat:dbPassword", PASSWORD, { secret: true });
        await stack.up();
        await waitReady("cvat_db");
        psql(
            "cvat_db",
            "cvat",
            "CREATE TABLE engine_task (id int PRIMARY KEY, name text); INSERT INTO engine_task SELECT g, 'task ' || g FROM generate_series(1, 20000) g;",
        );
        dk([
            "exec",
            "cvat_server",
            "sh",
            "-c",
            "mkdir -p /home/django/data/data/1/raw && head -c 400000 /dev/urandom > /home/django/data/data/1/raw/1.jpg",
        ]);
        rows230 = digest("cvat_db", "cvat");
        media = mediaSums();
    });
    after(async () => {
        await stack.teardown();
        cleanAll();
        stack.cleanup();
    });

    it("2.3.0 -> 2.4.0, then work at 2.4.0", async () => {
        await stack.config("cvat:version", "2.4.0");
        await stack.up();
        assertAllServing(names("2.4.0"));
        assert.deepStrictEqual(digest("cvat_db", "cvat"), rows230);
        psql(
            "cvat_db",
            "cvat",
            "INSERT INTO engine_task SELECT g, 'at 2.4.0 ' || g FROM generate_series(20001, 21000) g;",
        );
        rows240 = digest("cvat_db", "cvat");
    });

    it("one byte of the restore point's database archive changed: the rollback is refused at its first step, 2.4.0 serves on, nothing stopped, no row changed; the byte back, the rerun rolls back to 2.3.0's rows", async () => {
        const archive = path.join(stack.backupDir, "cvat", "2.3.0-to-2.4.0-a1-restore-point", "cvat_cvat_db.tar.zst");
        const fd = fs.openSync(archive, "r+");
        const at = Math.floor(fs.statSync(archive).size / 2);
        const byte = Buffer.alloc(1);
        fs.readSync(fd, byte, 0, 1, at);
        fs.writeSync(fd, Buffer.from([byte[0] ^ 0xff]), 0, 1, at);
        fs.closeSync(fd);
        const startedAt = Object.fromEntries(
            names("2.4.0").map((c) => [c, dk(["inspect", "-f", "{{.State.StartedAt}}", c]).trim()]),
        );

        await stack.config("cvat:version", "2.3.0");
        const up = await stack.up({ allowFail: true });
        assert.notStrictEqual(up.code, 0, "refused");
        assert.match(up.stdout + up.stderr, /cvat-2\.4\.0-to-2\.3\.0-preflight/);
        assert.match(up.stdout + up.stderr, /cvat_cvat_db\.tar\.zst.*sha256|sha256.*cvat_cvat_db\.tar\.zst/);
        assert.strictEqual(((await stack.outputs()).deployed as Deployed).cvat.version, "2.4.0");
        assertAllServing(names("2.4.0"));
        for (const c of names("2.4.0"))
            assert.strictEqual(
                dk(["inspect", "-f", "{{.State.StartedAt}}", c]).trim(),
                startedAt[c],
                `${c} was never stopped`,
            );
        assert.deepStrictEqual(digest("cvat_db", "cvat"), rows240, "no row changed");
        assert.ok(
            !fs.readdirSync(path.join(stack.backupDir, "cvat")).some((d) => /rollback-point/.test(d)),
            "not even the rollback point was taken",
        );

        const fix = fs.openSync(archive, "r+");
        fs.writeSync(fix, byte, 0, 1, at);
        fs.closeSync(fix);
        await stack.up();
        assertAllServing(names("2.3.0"));
        assert.strictEqual(running("cvat_clickhouse"), undefined, "2.4.0's own services are gone");
        assert.deepStrictEqual(digest("cvat_db", "cvat"), rows230, "2.3.0's rows, from the restore point");
        assert.strictEqual(mediaSums(), media, "every media file");
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, "2.3.0");
        // The rows written at 2.4.0 are kept in the rollback point (the plan's note says so).
        assert.ok(
            fs.existsSync(path.join(stack.backupDir, "cvat", "2.4.0-to-2.3.0-a2-rollback-point", "manifest.json")),
        );
        await stack.preview(["--expect-no-changes"]);
    });
});
