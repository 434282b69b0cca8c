// CVAT under the REAL Pulumi engine (CLI v3.274 built here, file backend) on the REAL Docker engine
// with REAL Postgres (15 playing CVAT's 10, 17 playing its 15). STAND-INS: the docker and command
// provider plugins (tests/e2e/standins/README.md) and CVAT's app images (app-standin.sh). One stack
// goes through the whole life of an install: adoption of compose volumes, a fresh 2.2.0, seeded
// data, the upgrade to 2.3.0 (previewed, then failed once, then rerun), a rollback, a second
// upgrade killed with SIGKILL and rerun, and destroy.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { TEST_IMAGES } from "../integration/setup";
import { digest, psql, waitReady } from "../integration/cvat-steps";
import {
    Deployed,
    duringMigration,
    initCvatStack,
    mediaSums,
    names,
    runningOn,
    SEED,
    tryClean,
    upWithFault,
    VOLUMES_220,
} from "./cvat-fixture";
import { assertAllServing, buildStandins, dk, E2EStack, running, waitAllServing } from "./harness";

describe("e2e: CVAT with the real Pulumi engine, real Docker and Postgres; stand-in providers and app images", function () {
    this.timeout(30 * 60 * 1000);
    const stack = new E2EStack("e2e");
    let before220: Record<string, string>;
    let media: string;
    const timings: Record<string, number> = {};

    before(async function () {
        buildStandins(["cvat-2.2.0", "cvat-2.3.0", "static"]);
        await initCvatStack(stack);
    });

    after(() => {
        console.log(`      e2e timings (s): ${JSON.stringify(timings)}`);
        tryClean();
        stack.cleanup();
    });

    it("adopts volumes made the way compose makes them (with its labels): a fresh 2.2.0 comes up healthy, and nothing changes on the next runs", async () => {
        // docker compose labels every volume it creates; the provider reads the labels back.
        for (const v of VOLUMES_220) {
            dk([
                "volume",
                "create",
                "--label",
                "com.docker.compose.project=cvat",
                "--label",
                `com.docker.compose.volume=${v.replace(/^cvat_/, "")}`,
                "--label",
                "com.docker.compose.version=2.29.7",
                v,
            ]);
        }
        const up = await stack.up();
        timings.freshUp = up.seconds;
        assertAllServing(names("2.2.0"));
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, "2.2.0");
        // No perpetual diff: the engine itself says nothing would change, twice.
        const pv = await stack.preview(["--expect-no-changes"]);
        timings.preview = pv.seconds;
        await stack.up({ extra: ["--expect-no-changes"] });
        // The adopted volumes kept their labels (nothing was replaced).
        assert.match(
            dk(["volume", "inspect", "-f", "{{json .Labels}}", "cvat_cvat_db"]),
            /com\.docker\.compose\.project/,
        );
    });

    it("seeds 161,000 rows in four tables and 12 MB of media", async () => {
        await waitReady("cvat_db");
        psql("cvat_db", "cvat", SEED);
        dk([
            "exec",
            "cvat_server",
            "sh",
            "-c",
            "mkdir -p /home/django/data/data/1/raw && for i in $(seq 1 12); do head -c 1000000 /dev/urandom > /home/django/data/data/1/raw/$i.jpg; done",
        ]);
        before220 = digest("cvat_db", "cvat");
        media = mediaSums();
        const rows = Object.values(before220).reduce((n, d) => n + Number(d.split(":")[0]), 0);
        assert.strictEqual(rows, 161000);
    });

    it("`pulumi config set cvat:version 2.3.0`: the preview gives the plan in words and every step in order", async () => {
        await stack.config("cvat:version", "2.3.0");
        const pv = await stack.preview(["--json"]);
        const json = JSON.parse(pv.stdout) as {
            steps: { op: string; urn: string }[];
            diagnostics?: { message: string }[];
        };
        const stepOrder = json.steps
            .filter((s) => s.urn.includes("command:local:Command"))
            .map((s) => s.urn.replace(/^.*::cvat-2\.2\.0-to-2\.3\.0-/, ""));
        // Retention is on by default (keep 5): the prune comes right after the verify.
        assert.deepStrictEqual(stepOrder, [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "prune-restore-point",
            "pg-migrate",
            "start",
            "pg-analyze",
        ]);
        const at = (suffix: string) => json.steps.findIndex((s) => s.urn.endsWith(suffix));
        // The old DB container goes only after the migration onto the new volume; the app comes back after the new DB.
        assert.ok(
            at("-vol-cvat_cvat_db_pg15") < at("-pg-migrate") &&
                at("-pg-migrate") < at("::cvat-cvat_db") &&
                at("::cvat-cvat_db") < at("::cvat-cvat_server"),
        );
        const words = (json.diagnostics ?? []).map((d) => d.message).join("\n");
        assert.match(words, /cvat 2\.2\.0 -> 2\.3\.0 \(upgrade\): 7 steps/);
        assert.match(
            words,
            /\[pg-migrate\] .*on the new volume cvat_cvat_db_pg15: pg_upgrade with upshift-test\/pg-upgrade:15-to-17 \(--check first; dump and restore instead if it refuses\)/,
        );
        // The README's worked example is this output (UPSHIFT_E2E_PREVIEW_OUT saves it).
        const text = (await stack.preview()).stdout;
        assert.match(text, /cvat-2\.2\.0-to-2\.3\.0-pg-migrate/);
        if (process.env.UPSHIFT_E2E_PREVIEW_OUT) fs.writeFileSync(process.env.UPSHIFT_E2E_PREVIEW_OUT, text);
    });

    it("a step that fails halfway (pg-migrate, after pg_upgrade and the verify, injected): `pulumi up` fails, `deployed` stays at 2.2.0, 2.2.0 serves again on the old database", async () => {
        // The last tool run of the pg_upgrade path: pg_amcheck on the new cluster, after the counts and
        // hashes (the statistics are the pg-analyze step's, after start).
        const up = await upWithFault(stack, "pg_amcheck");
        assert.notStrictEqual(up.code, 0, "the update fails");
        assert.ok(up.fired, "the fault fired");
        assert.match(up.output, /injected failure/);
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, "2.2.0", "the failed update did not move the deployed record");
        // pg-migrate started again what it stopped (the old server, the apps): the old version serves on its own volume.
        await waitAllServing(names("2.2.0"));
        assert.deepStrictEqual(runningOn("cvat_cvat_db_pg15"), [], "nothing runs on the half-made new volume");
        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^15\./);
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before220, "the old database, as it was");
    });

    it("the rerun completes: every row and file on Postgres 17 (new volume), the old volume untouched, nothing left stopped, no diff after", async () => {
        const up = await stack.up();
        timings.upgradeRerun = up.seconds;
        assertAllServing(names("2.3.0"));
        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^17\./);
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before220, "every table: count and content hash");
        assert.strictEqual(mediaSums(), media, "every media file");
        assert.strictEqual(
            dk(["run", "--rm", "-v", "cvat_cvat_db:/d:ro", TEST_IMAGES.tools, "cat", "/d/PG_VERSION"]).trim(),
            "15",
            "the old volume still holds the old major",
        );
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, "2.3.0");
        const entry = out.cvat.history!.at(-1)!;
        assert.strictEqual(entry.kind, "upgrade");
        // The rerun is the same attempt: it used the restore point the failed run took, and took no other.
        assert.deepStrictEqual(entry.backups, ["cvat/2.2.0-to-2.3.0-a1-restore-point"]);
        assert.deepStrictEqual(
            fs.readdirSync(path.join(stack.backupDir, "cvat")).filter((d) => /restore-point/.test(d)),
            ["2.2.0-to-2.3.0-a1-restore-point"],
        );
        assert.ok(
            (entry.archives ?? []).length === 4 && entry.archives!.every((a) => /^[0-9a-f]{64}$/.test(a.sha256)),
            "the restore point's checksums are on record",
        );
        await stack.preview(["--expect-no-changes"]);
    });

    it("`pulumi config set cvat:version 2.2.0 && pulumi up` rolls back: the 2.2.0 rows are back, the rollback point verified", async () => {
        const after230 = digest("cvat_db", "cvat");
        await stack.config("cvat:version", "2.2.0");
        const up = await stack.up();
        timings.rollback = up.seconds;
        assertAllServing(names("2.2.0"));
        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^15\./);
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before220);
        const out0 = (await stack.outputs()).deployed as Deployed;
        // Attempt 1 was the upgrade (failed once, rerun: the same attempt), so the rollback is attempt 2.
        assert.deepStrictEqual(out0.cvat.history!.at(-1)!.backups, ["cvat/2.3.0-to-2.2.0-a2-rollback-point"]);
        const point = path.join(stack.backupDir, "cvat", "2.3.0-to-2.2.0-a2-rollback-point");
        const verified = JSON.parse(fs.readFileSync(path.join(point, "verified.json"), "utf8")) as Record<
            string,
            unknown
        >;
        assert.ok(verified, "the rollback point was verified");
        assert.ok(Object.keys(after230).length > 0);
        const out = (await stack.outputs()).deployed as Deployed;
        assert.deepStrictEqual([out.cvat.version, out.cvat.previous], ["2.2.0", "2.3.0"]);
        await stack.preview(["--expect-no-changes"]);
    });

    it("a second upgrade killed with SIGKILL during pg_upgrade: deployed stays at 2.2.0; refresh clears the pending operation; the rerun starts the old server again and completes", async () => {
        await stack.config("cvat:version", "2.3.0");
        let killed = false;
        const up = await stack.up({
            allowFail: true,
            onStart: duringMigration("SIGKILL", () => {
                killed = true;
                // The machine "dies": the plugins and the steps they run go too (they are in process groups of their own).
                // ("[/]" keeps pkill from matching its own command line.)
                execFileSync("sh", [
                    "-c",
                    `pkill -KILL -f '[/]${stack.dir.slice(1)}|standins/[d]ocker-provider.ts|standins/[c]ommand-provider.ts' || true`,
                ]);
            }),
        });
        assert.ok(killed, "the update was killed during pg_upgrade");
        assert.strictEqual(up.signal, "SIGKILL");
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, "2.2.0");
        const state = await stack.exported();
        console.log(
            `      pending operations after SIGKILL: ${JSON.stringify(state.deployment.pending_operations ?? [])}`,
        );
        assert.ok(
            (state.deployment.pending_operations ?? []).length > 0,
            "the engine recorded the step that was running as pending",
        );
        // The killed CLI left the file backend's lock: release it, then drop the pending create (README).
        // (A preview takes no lock; an update or a refresh does.)
        const locked = await stack.pulumi(
            stack.stackArgs("refresh", "--yes", "--clear-pending-creates", "--suppress-progress"),
            { allowFail: true },
        );
        assert.match(locked.stdout + locked.stderr, /currently locked/);
        await stack.pulumi(["cancel", "--yes", "--stack", stack.stack]);
        await stack.pulumi(stack.stackArgs("refresh", "--yes", "--clear-pending-creates", "--suppress-progress"));
        const rerun = await stack.up();
        timings.upgradeAfterKill = rerun.seconds;
        assertAllServing(names("2.3.0"));
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before220);
        assert.strictEqual(((await stack.outputs()).deployed as Deployed).cvat.version, "2.3.0");
        await stack.preview(["--expect-no-changes"]);
    });

    it("`pulumi destroy` stops at the protected data volumes; after `pulumi state unprotect --all` it removes everything else and every data volume stays", async () => {
        const volumes = dk(["volume", "ls", "-q", "--filter", "name=cvat_cvat_"]).split("\n").filter(Boolean).sort();
        const refused = await stack.pulumi(stack.stackArgs("destroy", "--yes", "--suppress-progress"), {
            allowFail: true,
        });
        assert.notStrictEqual(refused.code, 0);
        assert.match(refused.stdout + refused.stderr, /protect/);
        await stack.pulumi(["state", "unprotect", "--all", "--yes", "--stack", stack.stack]);
        await stack.pulumi(stack.stackArgs("destroy", "--yes", "--suppress-progress"));
        for (const c of names("2.3.0")) assert.strictEqual(running(c), undefined, `${c} is gone`);
        assert.deepStrictEqual(
            dk(["volume", "ls", "-q", "--filter", "name=cvat_cvat_"]).split("\n").filter(Boolean).sort(),
            volumes,
            "every data volume is still there",
        );
    });
});

describe("e2e: a CVAT upgrade interrupted by Ctrl-C, real Pulumi engine, real Docker and Postgres; stand-in providers and app images", function () {
    this.timeout(20 * 60 * 1000);
    const stack = new E2EStack("e2e-sigint");
    let before220: Record<string, string>;
    before(async () => {
        await initCvatStack(stack);
        await stack.up();
        await waitReady("cvat_db");
        psql("cvat_db", "cvat", SEED);
        before220 = digest("cvat_db", "cvat");
    });
    after(async () => {
        await stack.teardown();
        tryClean();
        stack.cleanup();
    });

    it("SIGINT during pg_upgrade: the update fails, deployed stays at 2.2.0, nothing on the new volume; the rerun completes with every row", async () => {
        await stack.config("cvat:version", "2.3.0");
        let interrupted = false;
        const up = await stack.up({
            allowFail: true,
            // What a terminal's Ctrl-C does: SIGINT to the foreground process group (the CLI's).
            onStart: duringMigration("SIGINT", () => {
                interrupted = true;
            }),
        });
        assert.ok(interrupted, "the update was interrupted during pg_upgrade");
        assert.notStrictEqual(up.code, 0, "an interrupted update does not succeed");
        assert.strictEqual(((await stack.outputs()).deployed as Deployed).cvat.version, "2.2.0");
        assert.deepStrictEqual(runningOn("cvat_cvat_db_pg15"), [], "nothing runs on the half-made new volume");
        // The interrupted hook started the old server again (hooks/core/interrupt.ts), on its own volume.
        assert.strictEqual(running("cvat_db")?.status, "running");
        assert.match(psql("cvat_db", "cvat", "SHOW server_version"), /^15\./);
        await stack.up();
        assertAllServing(names("2.3.0"));
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before220);
        await stack.preview(["--expect-no-changes"]);
    });
});
