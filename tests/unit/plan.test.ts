import * as assert from "assert";
import { cvatCatalog } from "../../catalog/cvat";
import { DeployedProduct, describePlan, planChange, PlanRefused } from "../../plan";

/** The record a stack holds after installing (or adopting) `version`. */
const installed = (version: string): DeployedProduct => planChange({ catalog: cvatCatalog, to: version }).next;
/** The record after installing `a` then upgrading to `b`. */
const upgraded = (a: string, b: string): DeployedProduct => planChange({ catalog: cvatCatalog, to: b, deployed: installed(a) }).next;
const plan = (from: string | DeployedProduct | undefined, to: string) =>
    planChange({ catalog: cvatCatalog, to, deployed: typeof from === "string" ? installed(from) : from });
const ids = (p: ReturnType<typeof plan>) => p.steps.map((s) => s.id);
const RESTORE_POINT = ["preflight", "restore-point", "verify-restore-point"];

describe("plan (CVAT catalog)", () => {
    it("a fresh install plans no step and uses the compose volume names", () => {
        const p = plan(undefined, "2.40.0");
        assert.strictEqual(p.kind, "install");
        assert.deepStrictEqual(p.steps, []);
        assert.strictEqual(p.volumes.find((v) => v.key === "cvat_db")!.name, "cvat_cvat_db");
    });

    it("a rerun with nothing changed plans no step", () => {
        const p = plan(upgraded("2.2.0", "2.3.0"), "2.3.0");
        assert.strictEqual(p.kind, "unchanged");
        assert.deepStrictEqual(p.steps, []);
    });

    it("2.2.0 -> 2.3.0: restore point, dump from Postgres 10, restore into 15 on a new volume; the old volume is kept", () => {
        const p = plan("2.2.0", "2.3.0");
        assert.deepStrictEqual(ids(p), [...RESTORE_POINT, "pg-dump", "pg-restore", "start"]);
        assert.deepStrictEqual(p.steps.map((s) => s.phase), ["before-stop", "before-stop", "before-stop", "before-stop", "after-data-service", "after-app"]);
        const db = p.volumes.find((v) => v.key === "cvat_db")!;
        assert.deepStrictEqual([db.fromName, db.name, db.isNew, db.format], ["cvat_cvat_db", "cvat_cvat_db_pg15", true, "pg15"]);
        assert.deepStrictEqual(p.next.volumes["cvat_db@pg10"], { name: "cvat_cvat_db", lastVersion: "2.2.0" });
        assert.deepStrictEqual(p.next.volumes["cvat_db@pg15"], { name: "cvat_cvat_db_pg15", lastVersion: "2.3.0" });
        assert.strictEqual(p.volumes.find((v) => v.key === "cvat_data")!.isNew, false);
        assert.deepStrictEqual(p.next.restorePoints, [{ version: "2.2.0", id: "2.2.0-to-2.3.0-restore-point" }]);
    });

    it("2.25.0 -> 2.26.0 adds only cleanuplegacyexportcache, after the server is up", () => {
        const p = plan("2.25.0", "2.26.0");
        assert.deepStrictEqual(ids(p), [...RESTORE_POINT, "cleanuplegacyexportcache", "start"]);
        const step = p.steps[3];
        assert.strictEqual(step.phase, "after-app");
        assert.strictEqual(step.params.command, "python manage.py cleanuplegacyexportcache");
    });

    it("a patch bump (2.46.0 -> 2.46.1) adds no migration step, only the restore point", () => {
        assert.deepStrictEqual(ids(plan("2.46.0", "2.46.1")), [...RESTORE_POINT, "start"]);
    });

    it("2.2.0 -> 2.40.0 composes the Postgres dump/restore, then both manage.py commands, in version order", () => {
        assert.deepStrictEqual(ids(plan("2.2.0", "2.40.0")), [...RESTORE_POINT, "pg-dump", "pg-restore", "cleanuplegacyexportcache", "initcontentsize", "start"]);
    });

    it("crossing 2.47.0 warns about FFmpeg 8 instead of automating it", () => {
        const p = plan("2.46.1", "2.47.0");
        const warn = p.steps.find((s) => s.kind === "warn")!;
        assert.match(warn.description, /FFmpeg 4\.3\.1 -> 8\.0/);
        assert.match(describePlan(p), /ffmpeg_compatibility/);
    });

    it("keydb -> kvrocks (2.10.0 -> 2.10.1) gets a new cache volume and keeps the keydb one", () => {
        const p = plan("2.10.0", "2.10.1");
        const cache = p.volumes.find((v) => v.key === "cvat_cache_db")!;
        assert.deepStrictEqual([cache.fromName, cache.name, cache.mount], ["cvat_cvat_cache_db", "cvat_cvat_cache_db_kvrocks", "/var/lib/kvrocks/data"]);
    });

    it("adopting a compose install with other volume names keeps them and derives new ones from them", () => {
        const deployed = planChange({ catalog: cvatCatalog, to: "2.2.0", volumeNames: { cvat_db: "mycvat_cvat_db" } }).next;
        const p = planChange({ catalog: cvatCatalog, to: "2.3.0", deployed, volumeNames: { cvat_db: "mycvat_cvat_db" } });
        const db = p.volumes.find((v) => v.key === "cvat_db")!;
        assert.deepStrictEqual([db.fromName, db.name], ["mycvat_cvat_db", "mycvat_cvat_db_pg15"]);
    });

    it("a downgrade across the Postgres major backs up the current data, then re-attaches the retained volume", () => {
        const p = plan(upgraded("2.2.0", "2.3.0"), "2.2.0");
        assert.strictEqual(p.kind, "rollback");
        assert.deepStrictEqual(ids(p), ["preflight", "stop-apps", "rollback-point", "verify-rollback-point", "reattach-cvat_db", "start"]);
        assert.strictEqual(p.volumes.find((v) => v.key === "cvat_db")!.name, "cvat_cvat_db");
        assert.ok(p.steps.every((s) => s.kind !== "pg-restore"), "never an in-place data downgrade");
        assert.strictEqual(p.steps[1].params.containers, "cvat_opa,cvat_server,cvat_utils,cvat_worker_default,cvat_worker_low,cvat_worker_webhooks,cvat_ui,traefik",
            "the app stays stopped from before the rollback point on");
        assert.match(p.notes.join("\n"), /not in the rolled-back state; they are saved in backup cvat\/2\.3\.0-to-2\.2\.0-rollback-point/);
    });

    it("a downgrade in the same Postgres major restores the restore point taken before the upgrade into a new volume", () => {
        const p = plan(upgraded("2.25.0", "2.26.0"), "2.25.0");
        assert.deepStrictEqual(ids(p), ["preflight", "stop-apps", "rollback-point", "verify-rollback-point", "restore-cvat_db", "start"]);
        assert.strictEqual(p.steps[4].params.backup, "2.25.0-to-2.26.0-restore-point");
        assert.strictEqual(p.volumes.find((v) => v.key === "cvat_db")!.name, "cvat_cvat_db_rollback_2_25_0");
    });

    it("a downgrade with no retained volume and no restore point is refused with what to do", () => {
        assert.throws(() => plan("2.26.0", "2.25.0"), (e: Error) => e instanceof PlanRefused
            && /no restore point taken at 2\.25\.0 is recorded/.test(e.message) && /Set cvat:version back to 2\.26\.0/.test(e.message));
    });

    it("an upgrade from before 2.0.0 is refused, pointing to the vendor's 1.7.0 -> 2.2.0 guide", () => {
        const old: DeployedProduct = { version: "1.7.0", volumes: {} };
        assert.throws(() => planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: old }),
            /no direct upgrade from 1\.7\.0 \(before 2\.0\.0\).*v1\.7\.0 to v2\.2\.0/);
    });

    it("upgrading again after a rollback migrates into a fresh volume; the stale one stays on record", () => {
        const back = plan(upgraded("2.2.0", "2.3.0"), "2.2.0").next;
        const again = planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: back });
        const db = again.volumes.find((v) => v.key === "cvat_db")!;
        assert.deepStrictEqual([db.fromName, db.name, db.isNew], ["cvat_cvat_db", "cvat_cvat_db_pg15_2", true]);
        assert.deepStrictEqual(again.next.volumes["cvat_db@pg15~2.3.0"], { name: "cvat_cvat_db_pg15", lastVersion: "2.3.0" });
        assert.deepStrictEqual(ids(again), [...RESTORE_POINT, "pg-dump", "pg-restore", "start"]);
    });

    it("three upgrade/rollback cycles keep every volume ever used on record (none may drop out and be deleted)", () => {
        let deployed = plan(upgraded("2.2.0", "2.3.0"), "2.2.0").next;
        const used = new Set(Object.values(deployed.volumes).map((v) => v.name));
        for (let i = 0; i < 3; i++) {
            const up = planChange({ catalog: cvatCatalog, to: "2.3.0", deployed }).next;
            for (const v of Object.values(up.volumes)) used.add(v.name);
            deployed = planChange({ catalog: cvatCatalog, to: "2.2.0", deployed: up }).next;
            for (const v of Object.values(deployed.volumes)) used.add(v.name);
            const recorded = new Set(Object.values(deployed.volumes).map((v) => v.name));
            assert.deepStrictEqual([...used].filter((n) => !recorded.has(n)), [], `cycle ${i + 1}: every volume stays recorded`);
        }
        assert.ok(used.has("cvat_cvat_db_pg15_4"), [...used].join(", "));
    });

    it("a version outside the catalog is refused", () => {
        assert.throws(() => plan("2.2.0", "2.99.0"), /cvat:version 2\.99\.0 is not in the cvat catalog/);
    });

    it("the plan in words tells a volume new in the target from one that replaces a kept one", () => {
        const text = describePlan(plan("2.2.0", "2.40.0"));
        assert.match(text, /new volume cvat_cvat_events_db for cvat_events_db \(clickhouse\), new in 2\.40\.0/);
        assert.match(text, /new volume cvat_cvat_db_pg15 for cvat_db \(pg15\); cvat_cvat_db is kept/);
    });

    it("the plan in words lists each step and the kept volume", () => {
        const text = describePlan(plan("2.2.0", "2.3.0"));
        assert.match(text, /cvat 2\.2\.0 -> 2\.3\.0 \(upgrade\): 6 steps/);
        assert.match(text, /4\. \[pg-dump\] .*\(Postgres 10, volume cvat_cvat_db\)/);
        assert.match(text, /5\. \[pg-restore\] .*on volume cvat_cvat_db_pg15,/);
        assert.ok(!text.includes("${"), "no unresolved token in the words");
        assert.match(text, /new volume cvat_cvat_db_pg15 for cvat_db \(pg15\); cvat_cvat_db is kept/);
    });
});
