import * as assert from "assert";
import { cvatCatalog } from "../../catalog/cvat";
import { attemptDirs, attemptVolumesFile, DeployedProduct, describePlan, planChange, PlanRefused } from "../../plan";

/** The record a stack holds after installing (or adopting) `version`. */
const installed = (version: string): DeployedProduct => planChange({ catalog: cvatCatalog, to: version }).next;
/** The record after installing `a` then upgrading to `b`. */
const upgraded = (a: string, b: string): DeployedProduct =>
    planChange({ catalog: cvatCatalog, to: b, deployed: installed(a) }).next;
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

    it("2.2.0 -> 2.3.0: restore point, then Postgres 10 -> 15 by pg_upgrade onto a new volume before the DB container is replaced; the old volume is kept", () => {
        const p = plan("2.2.0", "2.3.0");
        assert.deepStrictEqual(ids(p), [...RESTORE_POINT, "pg-migrate", "start", "pg-analyze"]);
        assert.deepStrictEqual(
            p.steps.map((s) => s.phase),
            ["before-stop", "before-stop", "before-stop", "before-stop", "after-app", "after-app"],
        );
        const migrate = p.steps[3];
        // Reversible: the old volume is only read; every step before it is the verified restore point.
        assert.strictEqual(migrate.reversible, true);
        assert.deepStrictEqual(
            p.steps.slice(0, 3).map((s) => s.kind),
            ["preflight", "backup", "verify-backup"],
        );
        assert.deepStrictEqual(migrate.params, {
            container: "cvat_db",
            image: "postgres:15-alpine",
            volume: "${vol:cvat_db:to}",
            user: "root",
            stop: "cvat_opa,cvat_server,cvat_utils,cvat_worker_default,cvat_worker_low,cvat_ui,traefik",
            upgradeImage: "pgautoupgrade/pgautoupgrade:15-alpine",
            deferAnalyze: "true",
        });
        // The statistics after the app serves again (not downtime), on the new server; still before `deployed` moves.
        assert.deepStrictEqual(p.steps[5].params, { container: "cvat_db", user: "root" });
        assert.deepStrictEqual([p.steps[5].kind, p.steps[5].reversible], ["pg-analyze", true]);
        const db = p.volumes.find((v) => v.key === "cvat_db")!;
        assert.deepStrictEqual(
            [db.fromName, db.name, db.isNew, db.format],
            ["cvat_cvat_db", "cvat_cvat_db_pg15", true, "pg15"],
        );
        assert.deepStrictEqual(p.next.volumes["cvat_db@pg10"], { name: "cvat_cvat_db", lastVersion: "2.2.0" });
        assert.deepStrictEqual(p.next.volumes["cvat_db@pg15"], { name: "cvat_cvat_db_pg15", lastVersion: "2.3.0" });
        assert.strictEqual(p.volumes.find((v) => v.key === "cvat_data")!.isNew, false);
        assert.deepStrictEqual(p.next.restorePoints, [{ version: "2.2.0", id: "2.2.0-to-2.3.0-a1-restore-point" }]);
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

    it("2.2.0 -> 2.40.0 composes the Postgres migration, then both manage.py commands, in version order", () => {
        assert.deepStrictEqual(ids(plan("2.2.0", "2.40.0")), [
            ...RESTORE_POINT,
            "pg-migrate",
            "cleanuplegacyexportcache",
            "initcontentsize",
            "start",
            "pg-analyze",
        ]);
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
        assert.deepStrictEqual(
            [cache.fromName, cache.name, cache.mount],
            ["cvat_cvat_cache_db", "cvat_cvat_cache_db_kvrocks", "/var/lib/kvrocks/data"],
        );
    });

    it("adopting a compose install with other volume names keeps them and derives new ones from them", () => {
        const deployed = planChange({
            catalog: cvatCatalog,
            to: "2.2.0",
            volumeNames: { cvat_db: "mycvat_cvat_db" },
        }).next;
        const p = planChange({
            catalog: cvatCatalog,
            to: "2.3.0",
            deployed,
            volumeNames: { cvat_db: "mycvat_cvat_db" },
        });
        const db = p.volumes.find((v) => v.key === "cvat_db")!;
        assert.deepStrictEqual([db.fromName, db.name], ["mycvat_cvat_db", "mycvat_cvat_db_pg15"]);
    });

    it("a downgrade across the Postgres major backs up the current data, then re-attaches the retained volume", () => {
        const p = plan(upgraded("2.2.0", "2.3.0"), "2.2.0");
        assert.strictEqual(p.kind, "rollback");
        assert.deepStrictEqual(ids(p), [
            "preflight",
            "stop-apps",
            "rollback-point",
            "verify-rollback-point",
            "reattach-cvat_db",
            "start",
        ]);
        assert.strictEqual(p.volumes.find((v) => v.key === "cvat_db")!.name, "cvat_cvat_db");
        assert.ok(
            p.steps.every((s) => s.kind !== "pg-restore"),
            "never an in-place data downgrade",
        );
        assert.strictEqual(
            p.steps[1].params.containers,
            "cvat_opa,cvat_server,cvat_utils,cvat_worker_default,cvat_worker_low,cvat_worker_webhooks,cvat_ui,traefik",
            "the app stays stopped from before the rollback point on",
        );
        assert.match(
            p.notes.join("\n"),
            /not in the rolled-back state; they are saved in backup cvat\/2\.3\.0-to-2\.2\.0-a2-rollback-point/,
        );
    });

    it("a downgrade in the same Postgres major restores the restore point taken before the upgrade into a new volume", () => {
        const p = plan(upgraded("2.25.0", "2.26.0"), "2.25.0");
        assert.deepStrictEqual(ids(p), [
            "preflight",
            "stop-apps",
            "rollback-point",
            "verify-rollback-point",
            "restore-cvat_db",
            "start",
        ]);
        assert.strictEqual(p.steps[4].params.backup, "2.25.0-to-2.26.0-a1-restore-point");
        assert.strictEqual(p.volumes.find((v) => v.key === "cvat_db")!.name, "cvat_cvat_db_rollback_2_25_0");
    });

    it("a downgrade with no retained volume and no restore point is refused with what to do", () => {
        assert.throws(
            () => plan("2.26.0", "2.25.0"),
            (e: Error) =>
                e instanceof PlanRefused &&
                /no restore point taken at 2\.25\.0 is recorded/.test(e.message) &&
                /Set cvat:version back to 2\.26\.0/.test(e.message),
        );
    });

    it("an upgrade from before 2.0.0 is refused, pointing to the vendor's 1.7.0 -> 2.2.0 guide", () => {
        const old: DeployedProduct = { version: "1.7.0", volumes: {} };
        assert.throws(
            () => planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: old }),
            /no direct upgrade from 1\.7\.0 \(before 2\.0\.0\).*v1\.7\.0 to v2\.2\.0/,
        );
    });

    it("upgrading again after a rollback migrates into a fresh volume; the stale one stays on record", () => {
        const back = plan(upgraded("2.2.0", "2.3.0"), "2.2.0").next;
        const again = planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: back });
        const db = again.volumes.find((v) => v.key === "cvat_db")!;
        assert.deepStrictEqual([db.fromName, db.name, db.isNew], ["cvat_cvat_db", "cvat_cvat_db_pg15_2", true]);
        assert.deepStrictEqual(again.next.volumes["cvat_db@pg15~2.3.0"], {
            name: "cvat_cvat_db_pg15",
            lastVersion: "2.3.0",
        });
        assert.deepStrictEqual(ids(again), [...RESTORE_POINT, "pg-migrate", "start", "pg-analyze"]);
        assert.strictEqual(again.steps.find((s) => s.id === "pg-migrate")!.params.volume, "${vol:cvat_db:to}");
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
            assert.deepStrictEqual(
                [...used].filter((n) => !recorded.has(n)),
                [],
                `cycle ${i + 1}: every volume stays recorded`,
            );
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

    it("the Postgres major change follows the stack's images: a mirror's helper, upshift:pgUpgradeImage, or dump and restore (said) where no helper fits", () => {
        const deployed = installed("2.2.0");
        const step = (extra: Partial<Parameters<typeof planChange>[0]>) =>
            planChange({ catalog: cvatCatalog, to: "2.3.0", deployed, ...extra }).steps.find(
                (s) => s.kind === "pg-migrate",
            )!;
        const mirror = step({ imageRef: (r) => `mirror.local:5000/${r}` });
        assert.strictEqual(mirror.params.upgradeImage, "mirror.local:5000/pgautoupgrade/pgautoupgrade:15-alpine");
        assert.strictEqual(mirror.params.image, "mirror.local:5000/postgres:15-alpine");
        assert.strictEqual(
            step({ pgUpgradeImage: "registry.local/pg-up:10-15" }).params.upgradeImage,
            "registry.local/pg-up:10-15",
        );
        // Images mapped to glibc ones under an alpine old one: a C library change, so no pg_upgrade.
        const libc = step({ imageRef: (r) => (r === "postgres:15-alpine" ? "postgres:15-bookworm" : r) });
        assert.strictEqual(libc.params.upgradeImage, undefined);
        assert.strictEqual(libc.params.method, "dump");
        assert.match(
            libc.description,
            /: dump and restore \(postgres:10-alpine -> postgres:15-bookworm changes the C library \(musl -> glibc\)/,
        );
        assert.match(
            describePlan(
                planChange({
                    catalog: cvatCatalog,
                    to: "2.3.0",
                    deployed,
                    imageRef: (r) => (r === "postgres:15-alpine" ? "postgres:15-bookworm" : r),
                }),
            ),
            /\[pg-migrate\] .*dump and restore \(.*changes the C library/,
        );
        // Dump and restore analyzes as it loads: no pg-analyze step, and no --defer-analyze.
        const dumped = planChange({
            catalog: cvatCatalog,
            to: "2.3.0",
            deployed,
            imageRef: (r) => (r === "postgres:15-alpine" ? "postgres:15-bookworm" : r),
        });
        assert.deepStrictEqual(ids(dumped), [...RESTORE_POINT, "pg-migrate", "start"]);
        assert.strictEqual(libc.params.deferAnalyze, undefined);
    });

    it("the plan in words lists each step and the kept volume", () => {
        const text = describePlan(plan("2.2.0", "2.3.0"));
        assert.match(text, /cvat 2\.2\.0 -> 2\.3\.0 \(upgrade\): 6 steps/);
        assert.match(
            text,
            /6\. \[pg-analyze\] gather the planner statistics of the upgraded cvat_db \(vacuumdb --analyze-in-stages\) while the CVAT app serves again/,
        );
        assert.match(
            text,
            /4\. \[pg-migrate\] stop the CVAT app containers, then move cvat_db from Postgres 10 \(volume cvat_cvat_db, only read\) to Postgres 15 on the new volume cvat_cvat_db_pg15: pg_upgrade with pgautoupgrade\/pgautoupgrade:15-alpine \(--check first; dump and restore instead if it refuses\)/,
        );
        assert.ok(!text.includes("${"), "no unresolved token in the words");
        assert.match(text, /new volume cvat_cvat_db_pg15 for cvat_db \(pg15\); cvat_cvat_db is kept/);
    });

    describe("attempts: each upgrade or rollback attempt has its own backup ids (issue 12, finding 1)", () => {
        const point = (p: ReturnType<typeof plan>) => p.next.restorePoints!.at(-1)!.id;
        const at = (deployed: DeployedProduct, to: string, dirs: string[]) =>
            planChange({ catalog: cvatCatalog, to, deployed, attemptsFound: attemptDirs(dirs) });

        it("upgrade, roll back, upgrade again: the second upgrade never reuses the first one's restore point", () => {
            const first = plan("2.25.0", "2.26.0");
            const back = planChange({
                catalog: cvatCatalog,
                to: "2.25.0",
                deployed: first.next,
                attemptsFound: attemptDirs([`${point(first)}`]),
            });
            const again = planChange({
                catalog: cvatCatalog,
                to: "2.26.0",
                deployed: back.next,
                attemptsFound: attemptDirs([point(first), "2.26.0-to-2.25.0-a2-rollback-point"]),
            });
            assert.deepStrictEqual(
                [point(first), again.next.restorePoints!.at(-1)!.id],
                ["2.25.0-to-2.26.0-a1-restore-point", "2.25.0-to-2.26.0-a3-restore-point"],
            );
            assert.strictEqual(again.steps.find((s) => s.kind === "backup")!.params.label, "restore-point");
        });

        it("the rerun of a failed attempt (the record unchanged, its own backup on disk) gets the same number", () => {
            const before = installed("2.25.0");
            const first = at(before, "2.26.0", []);
            const rerun = at(before, "2.26.0", [`${point(first)}`, `${point(first)}.partial`]);
            assert.strictEqual(point(rerun), point(first));
        });

        it("an attempt abandoned by setting the version back is not continued later: the run that changes nothing records it", () => {
            const before = installed("2.25.0");
            const abandoned = point(at(before, "2.26.0", []));
            const reverted = at(before, "2.25.0", [abandoned]);
            assert.strictEqual(reverted.kind, "unchanged");
            assert.strictEqual(reverted.next.attempts, 1);
            assert.strictEqual(point(at(reverted.next, "2.26.0", [abandoned])), "2.25.0-to-2.26.0-a2-restore-point");
        });

        it("backups of another change at the top number, or of an older stack with the same backup dir, are never taken as this attempt's", () => {
            const before = installed("2.25.0");
            assert.strictEqual(
                point(at(before, "2.26.0", ["2.25.0-to-2.27.0-a1-restore-point"])),
                "2.25.0-to-2.26.0-a2-restore-point",
            );
            const fresh = planChange({
                catalog: cvatCatalog,
                to: "2.25.0",
                attemptsFound: attemptDirs(["2.25.0-to-2.26.0-a7-restore-point"]),
            });
            assert.strictEqual(fresh.next.attempts, 7, "a new stack over an old backup dir starts above what it finds");
            assert.strictEqual(
                point(at(fresh.next, "2.26.0", ["2.25.0-to-2.26.0-a7-restore-point"])),
                "2.25.0-to-2.26.0-a8-restore-point",
            );
        });

        describe("the new volumes of an attempt that did not finish (its ledger, attemptVolumesFile)", () => {
            // 2.2.0 -> 2.3.0 is Postgres 10 -> 15 onto a new volume (the engine creates it at the start of `up`).
            const before = installed("2.2.0");
            const first = planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: before });
            const made = first.volumes
                .filter((v) => v.isNew)
                .map((v) => ({ key: v.key, format: v.format, name: v.name }));
            const ledger = [{ from: "2.2.0", to: "2.3.0", n: first.attempt!, volumes: made }];
            const files = [attemptVolumesFile("2.2.0", "2.3.0", first.attempt!)];
            const names = (r: DeployedProduct) =>
                Object.values(r.volumes)
                    .map((v) => v.name)
                    .sort();

            it("the ledger's file name counts as the attempt's, so a failure before any backup reruns the same attempt", () => {
                assert.deepStrictEqual(
                    made.map((v) => v.name),
                    ["cvat_cvat_db_pg15"],
                );
                assert.deepStrictEqual(attemptDirs(files), [{ from: "2.2.0", to: "2.3.0", n: 1 }]);
                const rerun = planChange({
                    catalog: cvatCatalog,
                    to: "2.3.0",
                    deployed: before,
                    attemptsFound: attemptDirs(files),
                    attemptVolumes: ledger,
                });
                assert.strictEqual(rerun.attempt, 1);
                assert.strictEqual(
                    rerun.volumes.find((v) => v.key === "cvat_db")!.name,
                    "cvat_cvat_db_pg15",
                    "the rerun continues on its own new volume",
                );
                assert.deepStrictEqual(rerun.notes, []);
            });

            it("set back: the run that changes nothing keeps declaring it (on record, archived), with a note", () => {
                const reverted = planChange({
                    catalog: cvatCatalog,
                    to: "2.2.0",
                    deployed: before,
                    attemptsFound: attemptDirs(files),
                    attemptVolumes: ledger,
                });
                assert.strictEqual(reverted.kind, "unchanged");
                assert.deepStrictEqual(names(before).includes("cvat_cvat_db_pg15"), false);
                assert.deepStrictEqual(reverted.next.volumes["cvat_db@pg15~a1"], {
                    name: "cvat_cvat_db_pg15",
                    lastVersion: "2.3.0",
                });
                assert.match(
                    reverted.notes.join("\n"),
                    /cvat_cvat_db_pg15 \(cvat_db@pg15\) was made by attempt a1, which did not finish/,
                );
                // Once on record, the ledger adds nothing more.
                const again = planChange({
                    catalog: cvatCatalog,
                    to: "2.2.0",
                    deployed: reverted.next,
                    attemptsFound: attemptDirs(files),
                    attemptVolumes: ledger,
                });
                assert.deepStrictEqual(again.next, reverted.next);
                assert.deepStrictEqual(again.notes, []);
            });

            it("a later attempt never writes into it: a fresh volume, and the abandoned one stays on record", () => {
                const reverted = planChange({
                    catalog: cvatCatalog,
                    to: "2.2.0",
                    deployed: before,
                    attemptsFound: attemptDirs(files),
                    attemptVolumes: ledger,
                });
                // Set back first, or straight on to another version (no run in between: the ledger says what a1 made).
                for (const [via, to] of [
                    [reverted.next, "2.3.0"],
                    [before, "2.4.0"],
                ] as const) {
                    const second = planChange({
                        catalog: cvatCatalog,
                        to,
                        deployed: via,
                        attemptsFound: attemptDirs([...files, point(first)]),
                        attemptVolumes: ledger,
                    });
                    assert.strictEqual(second.attempt, 2, to);
                    const db = second.volumes.find((v) => v.key === "cvat_db")!;
                    assert.notStrictEqual(db.name, "cvat_cvat_db_pg15");
                    assert.ok(db.isNew);
                    assert.ok(names(second.next).includes("cvat_cvat_db_pg15"), "still declared");
                }
            });

            it("an abandoned rollback's restore volume is kept the same way", () => {
                const up = upgraded("2.25.0", "2.26.0");
                const back = planChange({ catalog: cvatCatalog, to: "2.25.0", deployed: up });
                const restoredVols = back.volumes
                    .filter((v) => v.isNew && v.type === "volume")
                    .map((v) => ({ key: v.key, format: v.format, name: v.name }));
                assert.ok(restoredVols.length > 0, "the rollback restores into a new volume");
                const abandonedBack = [{ from: "2.26.0", to: "2.25.0", n: back.attempt!, volumes: restoredVols }];
                const stay = planChange({
                    catalog: cvatCatalog,
                    to: "2.26.0",
                    deployed: up,
                    attemptVolumes: abandonedBack,
                });
                for (const v of restoredVols) assert.ok(names(stay.next).includes(v.name), `${v.name} stays declared`);
            });
        });

        it("names that are not an attempt's (copied, renamed, other tools') are ignored", () => {
            assert.deepStrictEqual(
                attemptDirs(["2.2.0-to-2.3.0-restore-point", "copy of backup", "2.2.0-to-2.3.0-a4-pg-dump", ".lock"]),
                [{ from: "2.2.0", to: "2.3.0", n: 4 }],
            );
        });
    });

    describe("a rollback's restore point and retained volumes are checked before anything is stopped; prune never deletes them (issue 12, finding 3)", () => {
        const keep = { offsite: false, keep: 1 };
        it("same Postgres major: the preflight, before stop-apps, verifies the restore point the restore step needs", () => {
            const up = planChange({
                catalog: cvatCatalog,
                to: "2.26.0",
                deployed: installed("2.25.0"),
                backupPolicy: keep,
            });
            const back = planChange({ catalog: cvatCatalog, to: "2.25.0", deployed: up.next, backupPolicy: keep });
            assert.deepStrictEqual(ids(back).slice(0, 2), ["preflight", "stop-apps"]);
            assert.strictEqual(back.steps[0].params.backups, "2.25.0-to-2.26.0-a1-restore-point");
            assert.strictEqual(
                back.steps.find((s) => s.kind === "restore-backup")!.params.backup,
                "2.25.0-to-2.26.0-a1-restore-point",
            );
            const prune = back.steps.find((s) => s.kind === "prune")!;
            assert.deepStrictEqual(prune.params.protect.split(","), [
                "2.25.0-to-2.26.0-a1-restore-point",
                "2.26.0-to-2.25.0-a2-rollback-point",
            ]);
        });

        it("across the Postgres major: the preflight checks that the retained volume is still there", () => {
            const back = plan(upgraded("2.2.0", "2.3.0"), "2.2.0");
            assert.strictEqual(back.steps[0].kind, "preflight");
            assert.strictEqual(back.steps[0].params.retained, "volume:cvat_cvat_db");
            assert.match(describePlan(back), /before anything is stopped, that the retained cvat_cvat_db still exists/);
        });

        it("an upgrade's prune protects every restore point on record and its own", () => {
            const first = planChange({
                catalog: cvatCatalog,
                to: "2.26.0",
                deployed: installed("2.25.0"),
                backupPolicy: keep,
            });
            const second = planChange({ catalog: cvatCatalog, to: "2.27.0", deployed: first.next, backupPolicy: keep });
            assert.deepStrictEqual(second.steps.find((s) => s.kind === "prune")!.params.protect.split(","), [
                "2.25.0-to-2.26.0-a1-restore-point",
                "2.26.0-to-2.27.0-a2-restore-point",
            ]);
        });
    });
});
