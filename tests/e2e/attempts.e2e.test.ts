// An upgrade attempt that fails after the engine made its new volume, then abandoned: under the
// REAL Pulumi engine (file backend), REAL Docker and Postgres. STAND-INS: the provider plugins and
// the app images (tests/e2e/standins/README.md). Found by the fault matrix (docs/reliability.md):
// setting the version back made `pulumi up` fail ("cannot be deleted because it is protected": the
// deployed record never listed the failed attempt's volume), and a later attempt's pg-migrate
// refused the volume the earlier one had filled. Now the attempt's ledger keeps the volume declared
// and a later attempt migrates onto a fresh one; the abandoned copy is kept, untouched.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { TEST_IMAGES } from "../integration/setup";
import { digest, psql, waitReady } from "../integration/cvat-steps";
import { Deployed, initCvatStack, mediaSums, names, runningOn, tryClean, upWithFault } from "./cvat-fixture";
import { assertAllServing, buildStandins, dk, E2EStack, waitAllServing } from "./harness";

/** A checksum of every file in a volume (read-only mount), the test's own means. */
const volumeSum = (v: string) =>
    dk([
        "run",
        "--rm",
        "-v",
        `${v}:/d:ro`,
        TEST_IMAGES.tools,
        "sh",
        "-c",
        "cd /d && find . -type f | sort | xargs sha256sum | sha256sum",
    ]).trim();
const dbVolumes = () => dk(["volume", "ls", "-q", "--filter", "name=cvat_cvat_db"]).split("\n").filter(Boolean).sort();

describe("e2e: a failed CVAT upgrade attempt abandoned, then a new one, real Pulumi engine, real Docker and Postgres; stand-in providers and app images", function () {
    this.timeout(30 * 60 * 1000);
    const stack = new E2EStack("e2e-attempts");
    let rows: Record<string, string>;
    let media: string;
    let abandonedSum: string;

    before(async () => {
        buildStandins(["cvat-2.2.0", "cvat-2.3.0", "static"]);
        await initCvatStack(stack);
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
            "mkdir -p /home/django/data/data/1/raw && head -c 500000 /dev/urandom > /home/django/data/data/1/raw/1.jpg",
        ]);
        rows = digest("cvat_db", "cvat");
        media = mediaSums();
    });
    after(async () => {
        await stack.teardown();
        tryClean();
        stack.cleanup();
    });

    it("attempt 1 fails in pg-migrate after pg_upgrade filled the new volume: deployed stays at 2.2.0", async () => {
        await stack.config("cvat:version", "2.3.0");
        // pg_amcheck runs on the new cluster, after pg_upgrade wrote it: the volume holds a whole copy.
        const up = await upWithFault(stack, "pg_amcheck");
        assert.notStrictEqual(up.code, 0, up.output.slice(-2000));
        assert.ok(up.fired, "the fault fired");
        assert.strictEqual(((await stack.outputs()).deployed as Deployed).cvat.version, "2.2.0");
        assert.deepStrictEqual(dbVolumes(), ["cvat_cvat_db", "cvat_cvat_db_pg15"]);
        assert.strictEqual(
            dk(["run", "--rm", "-v", "cvat_cvat_db_pg15:/d:ro", TEST_IMAGES.tools, "cat", "/d/PG_VERSION"]).trim(),
            "17",
            "the failed attempt's copy",
        );
        assert.ok(fs.existsSync(path.join(stack.backupDir, "cvat", "2.2.0-to-2.3.0-a1-volumes.json")), "its ledger");
        abandonedSum = volumeSum("cvat_cvat_db_pg15");
        await waitAllServing(names("2.2.0"));
    });

    it("the version set back: `pulumi up` succeeds and keeps the failed attempt's volume declared, untouched, with a note; 2.2.0 serves every row", async () => {
        await stack.config("cvat:version", "2.2.0");
        const up = await stack.up();
        assert.match(up.stdout, /cvat_cvat_db_pg15 \(cvat_db@pg15\) was made by attempt a1, which did not finish/);
        assertAllServing(names("2.2.0"));
        assert.deepStrictEqual(digest("cvat_db", "cvat"), rows);
        const state = (await stack.exported()).deployment.resources!;
        const vol = state.find(
            (r) =>
                r.type === "docker:index/volume:Volume" &&
                (r as { outputs?: { name?: string } }).outputs?.name === "cvat_cvat_db_pg15",
        );
        assert.ok(vol, "still in the state");
        assert.strictEqual((vol as { protect?: boolean }).protect, true);
        assert.strictEqual(volumeSum("cvat_cvat_db_pg15"), abandonedSum, "not written");
        const out = (await stack.outputs()).deployed as { cvat: { volumes: Record<string, { name: string }> } };
        assert.strictEqual(out.cvat.volumes["cvat_db@pg15~a1"].name, "cvat_cvat_db_pg15", "on record from now on");
        await stack.preview(["--expect-no-changes"]);
    });

    it("attempt 2 migrates onto a fresh volume: every row and file on Postgres 17, the abandoned copy untouched, no diff after", async () => {
        psql(
            "cvat_db",
            "cvat",
            "INSERT INTO engine_task SELECT g, 'after the abandoned attempt ' || g FROM generate_series(30001, 31000) g;",
        );
        rows = digest("cvat_db", "cvat");
        await stack.config("cvat:version", "2.3.0");
        await stack.up();
        assertAllServing(names("2.3.0"));
        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^17\./);
        assert.deepStrictEqual(runningOn("cvat_cvat_db_pg15_2"), ["cvat_db"]);
        assert.deepStrictEqual(
            digest("cvat_db", "cvat"),
            rows,
            "every table: count and content hash, with the rows written after attempt 1",
        );
        assert.strictEqual(mediaSums(), media, "every media file");
        assert.strictEqual(volumeSum("cvat_cvat_db_pg15"), abandonedSum, "the abandoned copy, untouched");
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, "2.3.0");
        assert.deepStrictEqual(
            out.cvat.history!.at(-1)!.backups,
            ["cvat/2.2.0-to-2.3.0-a2-restore-point"],
            "its own restore point",
        );
        await stack.preview(["--expect-no-changes"]);
    });
});
