import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Capture, isSecret, setMocks, value } from "./mocks";

setMocks();
// Imported after setMocks (reference/pulumi-notes.md, "Unit tests").
import { cvatCatalog } from "../../catalog/cvat";
import { Cvat, CvatArgs } from "../../components/cvat";
import { goDuration } from "../../components/product";
import { DeployedProduct, planChange } from "../../plan";

const SECRET = "correct-horse-battery-staple";
const installed = (v: string): DeployedProduct => planChange({ catalog: cvatCatalog, to: v }).next;

// An update (not a preview) writes each attempt's volume ledger there (components/product.ts).
const BACKUPS = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-cvat-test-"));
after(() => fs.rmSync(BACKUPS, { recursive: true, force: true }));

let n = 0;
/** Builds a CVAT component under mocks and captures every child with its options. */
function build(version: string, deployed?: DeployedProduct, extra: Partial<CvatArgs> = {}) {
    const capture = new Capture();
    const name = `cvat${n++}`;
    const cvat = new Cvat(
        name,
        {
            version,
            deployed,
            backupDir: BACKUPS,
            secrets: { dbPassword: pulumi.secret(SECRET) },
            ...extra,
        },
        { transformations: [capture.transformation] },
    );
    const cmd = (suffix: string) => capture.byName(`${name}-${cvat.plan.from}-to-${cvat.plan.to}-${suffix}`);
    return { cvat, capture, name, cmd, container: (c: string) => capture.byName(`${name}-${c}`) };
}

const containerNames = (c: Capture) =>
    c
        .ofType("docker:index/container:Container")
        .map((r) => r.props.name)
        .sort();

describe("CVAT component (Pulumi mocks)", () => {
    before(() => setMocks());
    it("a fresh 2.2.0 registers its compose services, images and volumes", () => {
        const { capture } = build("2.2.0");
        // The vendor's 2.2.0 file (reference/upstream/cvat/2.2.0.yml) also runs cvat_utils.
        assert.deepStrictEqual(containerNames(capture), [
            "cvat_db",
            "cvat_opa",
            "cvat_redis",
            "cvat_server",
            "cvat_ui",
            "cvat_utils",
            "cvat_worker_default",
            "cvat_worker_low",
            "traefik",
        ]);
        const images = capture
            .ofType("docker:index/remoteImage:RemoteImage")
            .map((r) => r.props.name)
            .sort();
        assert.deepStrictEqual(images, [
            "cvat/server:v2.2.0",
            "cvat/ui:v2.2.0",
            "openpolicyagent/opa:0.34.2-rootless",
            "postgres:10-alpine",
            "redis:4.0-alpine",
            "traefik:v2.4",
        ]);
        const vols = capture
            .ofType("docker:index/volume:Volume")
            .map((r) => r.props.name)
            .sort();
        assert.deepStrictEqual(vols, ["cvat_cvat_data", "cvat_cvat_db", "cvat_cvat_keys", "cvat_cvat_logs"]);
        assert.strictEqual(capture.ofType("command:local:Command").length, 0, "a fresh install runs no step");
    });

    it("a fresh 2.40.0 registers a different service set (split redis, kvrocks, clickhouse, new workers)", () => {
        const { capture } = build("2.40.0");
        assert.deepStrictEqual(containerNames(capture), [
            "cvat_clickhouse",
            "cvat_db",
            "cvat_opa",
            "cvat_redis_inmem",
            "cvat_redis_ondisk",
            "cvat_server",
            "cvat_ui",
            "cvat_worker_annotation",
            "cvat_worker_chunks",
            "cvat_worker_consensus",
            "cvat_worker_export",
            "cvat_worker_import",
            "cvat_worker_quality_reports",
            "cvat_worker_utils",
            "cvat_worker_webhooks",
            "traefik",
        ]);
        const vols = capture
            .ofType("docker:index/volume:Volume")
            .map((r) => r.props.name)
            .sort();
        assert.deepStrictEqual(vols, [
            "cvat_cvat_cache_db",
            "cvat_cvat_data",
            "cvat_cvat_db",
            "cvat_cvat_events_db",
            "cvat_cvat_inmem_db",
            "cvat_cvat_keys",
            "cvat_cvat_logs",
        ]);
    });

    it("containers use the image id, the compose mounts, network aliases, restart policy and a waited-on healthcheck", async () => {
        const { container } = build("2.40.0");
        const server = container("cvat_server");
        assert.strictEqual(await value(server.props.image as pulumi.Output<string>), "sha256:cvat/server:v2.40.0");
        assert.strictEqual(server.props.restart, "unless-stopped");
        assert.strictEqual(server.props.wait, true);
        assert.deepStrictEqual((server.props.healthcheck as { tests: string[] }).tests, [
            "CMD",
            "python3",
            "manage.py",
            "health_check",
        ]);
        const mounts = server.props.volumes as { containerPath: string; volumeName: pulumi.Output<string> }[];
        assert.deepStrictEqual(
            await Promise.all(mounts.map(async (m) => `${await value(m.volumeName)}:${m.containerPath}`)),
            [
                "cvat_cvat_data:/home/django/data",
                "cvat_cvat_keys:/home/django/keys",
                "cvat_cvat_logs:/home/django/logs",
            ],
        );
        // The vendor's aliases: OPA fetches its bundle from `cvat-server` (Django refuses `_` in host names).
        const net = (server.props.networksAdvanced as { aliases: string[] }[])[0];
        assert.deepStrictEqual(net.aliases, ["cvat_server", "cvat-server"]);
        const traefik = container("traefik");
        assert.deepStrictEqual(
            (traefik.props.ports as { external: number; ip: string }[]).map((p) => `${p.ip}:${p.external}`),
            ["127.0.0.1:8080", "127.0.0.1:8090"],
        );
        assert.deepStrictEqual(container("cvat_db").replaceOnChanges, ["healthcheck"]);
    });

    it("2.2.0 -> 2.3.0: pg-migrate before the DB container is replaced (after the verified restore point and its new volume), new DB on the new volume, apps after both", () => {
        const { capture, cmd, container, name } = build("2.3.0", installed("2.2.0"));
        const migrate = cmd("pg-migrate");
        const verify = cmd("verify-restore-point").name;
        const db = container("cvat_db");
        // The DB container (replaced: new image) depends on the migration, which depends on the verified restore point.
        assert.ok(capture.dependsTransitively(db.name).has(migrate.name));
        assert.ok(capture.dependsTransitively(migrate.name).has(verify));
        assert.ok(capture.dependsTransitively(verify).has(cmd("restore-point").name));
        // The migration writes the new volume: it waits for the engine to create it.
        assert.ok(capture.dependsTransitively(migrate.name).has(`${name}-vol-cvat_cvat_db_pg15`));
        assert.ok(
            !capture.dependsTransitively(migrate.name).has(`${name}-vol-cvat_cvat_db`),
            "the old volume is not a dependency (it exists)",
        );
        assert.match(
            migrate.props.create as string,
            / pg-migrate --container cvat_db --new-image postgres:15-alpine --new-volume cvat_cvat_db_pg15 --work \S+\/cvat\/2\.2\.0-to-2\.3\.0-a1-pg-migrate --user root --stop cvat_opa,cvat_server,cvat_utils,cvat_worker_default,cvat_worker_low,cvat_ui,traefik --upgrade-image pgautoupgrade\/pgautoupgrade:15-alpine --defer-analyze$/,
        );
        // The statistics once the app serves again: after `start`, on the new server, with the DB password.
        const analyze = cmd("pg-analyze");
        assert.ok(capture.dependsTransitively(analyze.name).has(cmd("start").name));
        assert.match(
            analyze.props.create as string,
            / pg-analyze --container cvat_db --user root --work \S+\/cvat\/2\.2\.0-to-2\.3\.0-a1-pg-migrate$/,
        );
        assert.ok("PGPASSWORD" in (analyze.props.environment as Record<string, unknown>));
        // New DB on the new volume; the old volume stays declared, protected and retained.
        const dbVol = db.props.volumes as { volumeName: pulumi.Output<string> }[];
        assert.ok(dbVol.length === 1);
        const vols = capture.ofType("docker:index/volume:Volume");
        assert.deepStrictEqual(vols.map((v) => v.props.name).sort(), [
            "cvat_cvat_data",
            "cvat_cvat_db",
            "cvat_cvat_db_pg15",
            "cvat_cvat_keys",
            "cvat_cvat_logs",
        ]);
        for (const app of ["cvat_server", "cvat_ui", "cvat_opa", "traefik", "cvat_worker_webhooks"]) {
            assert.ok(
                capture.dependsTransitively(`${name}-${app}`).has(migrate.name),
                `${app} must follow the migration`,
            );
            assert.ok(capture.dependsTransitively(`${name}-${app}`).has(db.name), `${app} must follow the new DB`);
        }
        assert.ok(
            !capture.dependsTransitively(migrate.name).has(db.name),
            "the migration must not wait for the new DB",
        );
    });

    it("upshift:pgUpgradeImage replaces the default pg_upgrade helper on the command line", () => {
        const { cmd } = build("2.3.0", installed("2.2.0"), { pgUpgradeImage: "registry.local/pg-upgrade:10-to-15" });
        assert.match(
            cmd("pg-migrate").props.create as string,
            / --upgrade-image registry\.local\/pg-upgrade:10-to-15 --defer-analyze$/,
        );
    });

    it("the new DB container mounts the new volume", async () => {
        const { container } = build("2.3.0", installed("2.2.0"));
        const mounts = container("cvat_db").props.volumes as { volumeName: pulumi.Output<string> }[];
        assert.strictEqual(await value(mounts[0].volumeName), "cvat_cvat_db_pg15");
        assert.strictEqual(
            await value(container("cvat_db").props.image as pulumi.Output<string>),
            "sha256:postgres:15-alpine",
        );
    });

    it("2.25.0 -> 2.26.0: cleanuplegacyexportcache runs after the healthy server", () => {
        const { capture, cmd, name } = build("2.26.0", installed("2.25.0"));
        const cleanup = cmd("cleanuplegacyexportcache");
        assert.ok(capture.dependsTransitively(cleanup.name).has(`${name}-cvat_server`));
        assert.deepStrictEqual(
            capture.ofType("command:local:Command").map((c) => c.name.replace(/^cvat\d+-2\.25\.0-to-2\.26\.0-/, "")),
            ["preflight", "restore-point", "verify-restore-point", "cleanuplegacyexportcache", "start"],
        );
    });

    it("a rerun with nothing changed registers no step", () => {
        const { capture } = build(
            "2.3.0",
            planChange({ catalog: cvatCatalog, to: "2.3.0", deployed: installed("2.2.0") }).next,
        );
        assert.strictEqual(capture.ofType("command:local:Command").length, 0);
    });

    it("every data volume has retainOnDelete and protect; no container or command is protected; the component is not", () => {
        const { capture } = build("2.3.0", installed("2.2.0"));
        for (const v of capture.ofType("docker:index/volume:Volume")) {
            assert.strictEqual(v.retainOnDelete, true, v.name);
            assert.strictEqual(v.protect, true, v.name);
        }
        for (const r of capture.resources.filter((x) => x.type !== "docker:index/volume:Volume")) {
            assert.ok(!r.protect, `${r.name} must not be protected`);
            assert.ok(!r.retainOnDelete, `${r.name} must not be retained`);
        }
    });

    it("secrets registered as inputs stay secret and never appear in a command line", async () => {
        const { capture, cmd } = build("2.3.0", installed("2.2.0"));
        for (const c of ["cvat_db", "cvat_server", "cvat_worker_webhooks"]) {
            const envs = capture.resources.find((r) => r.props.name === c)!.props.envs;
            assert.ok(await isSecret(envs), `${c} envs must be secret`);
        }
        const migrate = cmd("pg-migrate");
        const env = migrate.props.environment as Record<string, unknown>;
        assert.ok(await isSecret(env.PGPASSWORD), "PGPASSWORD must be a secret input");
        assert.strictEqual(await value(env.PGPASSWORD as pulumi.Output<string>), SECRET);
        for (const c of capture.ofType("command:local:Command")) {
            assert.ok(!String(c.props.create).includes(SECRET), `${c.name} puts the secret on its command line`);
        }
    });

    it("image overrides and a registry mirror replace the vendor's references", () => {
        const { capture } = build("2.3.0", installed("2.2.0"), {
            images: {
                "postgres:10-alpine": "upshift-test/postgres:15",
                "postgres:15-alpine": "upshift-test/postgres:17",
            },
            registryMirror: "mirror.local:5000",
        });
        const images = capture.ofType("docker:index/remoteImage:RemoteImage").map((r) => r.props.name);
        assert.ok(images.includes("upshift-test/postgres:17"));
        assert.ok(images.includes("mirror.local:5000/cvat/server:v2.3.0"));
        assert.ok(
            capture.ofType("docker:index/remoteImage:RemoteImage").every((r) => r.props.keepLocally === true),
            "old images stay for a rollback",
        );
    });
});

describe("what the real docker provider reads back (kreuzwerker resource_docker_*.go; e2e suite)", () => {
    before(() => setMocks());
    it("healthcheck durations are written as Go durations, so the read-back value is no diff", () => {
        assert.deepStrictEqual(["5s", "15s", "30s", "60s", "90s", "1m", "1h", "500ms", "0s", "3600s"].map(goDuration), [
            "5s",
            "15s",
            "30s",
            "1m0s",
            "1m30s",
            "1m0s",
            "1h0m0s",
            "500ms",
            "0s",
            "1h0m0s",
        ]);
        assert.throws(() => goDuration("sixty"), /catalog bug: duration "sixty"/);
        const { capture } = build("2.40.0");
        for (const c of capture.ofType("docker:index/container:Container")) {
            const hc = c.props.healthcheck as Record<string, string> | undefined;
            for (const d of ["interval", "timeout", "startPeriod"]) {
                if (hc?.[d] !== undefined) assert.strictEqual(hc[d], goDuration(hc[d]), `${c.name} ${d}`);
            }
        }
    });

    it("every container is stopped with a grace period on delete (120 s for the database), and waits are bounded", () => {
        const { container, capture } = build("2.3.0");
        assert.strictEqual(container("cvat_db").props.destroyGraceSeconds, 120);
        assert.strictEqual(container("cvat_server").props.destroyGraceSeconds, 60);
        for (const c of capture.ofType("docker:index/container:Container")) {
            assert.ok(typeof c.props.destroyGraceSeconds === "number", c.name);
            if (c.props.wait) assert.ok((c.props.waitTimeout as number) <= 1800, c.name);
        }
    });

    it("every container carries the labels of what made it, which `upshift orphans` reads after a killed run (hooks/containers/orphans.ts)", () => {
        const { container, capture } = build("2.3.0");
        const server = container("cvat_server");
        const labels = Object.fromEntries(
            (server.props.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]),
        );
        assert.strictEqual(labels["upshift.stack"], "upshift/dev");
        assert.strictEqual(labels["upshift.resource"], server.name);
        // The vendor's traefik labels are still there.
        assert.ok(
            Object.keys(labels).some((k) => k.startsWith("traefik.")),
            JSON.stringify(labels),
        );
        for (const c of capture.ofType("docker:index/container:Container")) {
            const l = Object.fromEntries(
                (c.props.labels as { label: string; value: string }[]).map((x) => [x.label, x.value]),
            );
            assert.deepStrictEqual([l["upshift.stack"], l["upshift.resource"]], ["upshift/dev", c.name], c.name);
        }
    });

    it("volumes ignore label changes (an adopted compose volume reads back com.docker.compose.* labels)", () => {
        const { capture } = build("2.3.0");
        for (const v of capture.ofType("docker:index/volume:Volume"))
            assert.deepStrictEqual(v.ignoreChanges, ["labels"], v.name);
    });

    it("every change ends with the start step: every container of the new version started and healthy", () => {
        const { cmd, name, capture } = build("2.3.0", installed("2.2.0"));
        const start = cmd("start");
        assert.match(
            start.props.create as string,
            / start --container cvat_db,cvat_redis,cvat_opa,cvat_server,cvat_utils,cvat_worker_default,cvat_worker_low,cvat_worker_webhooks,cvat_ui,traefik$/,
        );
        const deps = capture.dependsTransitively(start.name);
        for (const c of capture.ofType("docker:index/container:Container"))
            assert.ok(deps.has(c.name), `start runs after ${c.name}`);
        assert.ok(deps.has(`${name}-2.2.0-to-2.3.0-pg-migrate`));
    });
});

describe("the run after a change (real engine: --expect-no-changes right after an upgrade)", () => {
    // Not a preview: the record waits for every step and container, which a preview cannot know.
    before(() => setMocks({}, false));
    after(() => setMocks());
    it("declares the last change's step Commands again with the same names and command lines, so the engine keeps them unchanged", async () => {
        const first = build("2.3.0", installed("2.2.0"));
        const record = await value(first.cvat.deployed);
        assert.strictEqual(record!.lastChange!.steps.length, first.cvat.plan.steps.length);
        const again = build("2.3.0", record);
        assert.strictEqual(again.cvat.plan.kind, "unchanged");
        const cmds = (c: Capture) =>
            c
                .ofType("command:local:Command")
                .map(
                    (r) =>
                        `${r.name.replace(/^cvat\d+-/, "")} ${String(r.props.create).replace(/^node \S+/, "upshift")}`,
                );
        assert.deepStrictEqual(cmds(again.capture), cmds(first.capture));
        assert.ok(JSON.stringify(record).indexOf(SECRET) < 0, "no secret in the record");
        // A later change (the rollback) declares its own steps only.
        const back = build("2.2.0", record);
        assert.ok(back.capture.ofType("command:local:Command").every((r) => /-2\.3\.0-to-2\.2\.0-/.test(r.name)));
    });
});

describe("the audit record when a finished restore point was updated (stdout of `true` is empty)", () => {
    after(() => setMocks());
    it("takes the restore point's checksums from its manifest on disk", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-audit-"));
        try {
            const point = path.join(dir, "cvat", "2.2.0-to-2.3.0-a1-restore-point");
            fs.mkdirSync(point, { recursive: true });
            fs.writeFileSync(
                path.join(point, "manifest.json"),
                JSON.stringify(
                    {
                        format: "upshift-backup/1",
                        id: "2.2.0-to-2.3.0-a1-restore-point",
                        product: "cvat",
                        version: "2.2.0",
                        createdAt: "2026-11-30T08:00:00.000Z",
                        archives: [
                            {
                                name: "cvat_cvat_db",
                                source: { type: "volume", name: "cvat_cvat_db" },
                                file: "a.tar.zst",
                                bytes: 42,
                                sourceBytes: 99,
                                files: 3,
                                sha256: "cd".repeat(32),
                            },
                        ],
                    },
                    null,
                    2,
                ),
            );
            // Every Command reports an empty stdout, as after `update: "true"` (pulumi-command commandController.go).
            pulumi.runtime.setMocks(
                {
                    newResource: (a) => ({
                        id: `${a.name}-id`,
                        state: {
                            ...a.inputs,
                            ...(a.type === "command:local:Command" ? { stdout: "" } : {}),
                            ...(a.type === "docker:index/remoteImage:RemoteImage" ? { imageId: "sha256:x" } : {}),
                        },
                    }),
                    call: (a) => a.inputs,
                },
                "upshift",
                "dev",
                false,
                "organization",
            );
            const capture = new Capture();
            const cvat = new Cvat(
                "audit",
                {
                    version: "2.3.0",
                    deployed: installed("2.2.0"),
                    backupDir: dir,
                    secrets: { dbPassword: pulumi.secret(SECRET) },
                },
                { transformations: [capture.transformation] },
            );
            const entry = (await value(cvat.deployed))!.history!.at(-1)!;
            assert.deepStrictEqual(entry.archives, [{ name: "cvat_cvat_db", sha256: "cd".repeat(32), bytes: 42 }]);
            assert.strictEqual(entry.at, "2026-11-30T08:00:00.000Z");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("an attempt's new volumes are written down before the engine makes them (its ledger; issue 12)", () => {
    afterEach(() => setMocks());
    const ledgerFile = (dir: string) => path.join(dir, "cvat", "2.2.0-to-2.3.0-a1-volumes.json");
    const volumeNames = (c: Capture) =>
        c
            .ofType("docker:index/volume:Volume")
            .map((r) => r.props.name)
            .sort();

    it("`pulumi up` writes it (0600, this stack's name); a preview writes nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-ledger-"));
        try {
            build("2.3.0", installed("2.2.0"), { backupDir: dir });
            assert.ok(!fs.existsSync(ledgerFile(dir)), "a preview changes nothing on disk");
            setMocks({}, false);
            build("2.3.0", installed("2.2.0"), { backupDir: dir });
            const ledger = JSON.parse(fs.readFileSync(ledgerFile(dir), "utf8"));
            assert.deepStrictEqual(ledger, {
                format: "upshift-attempt-volumes/1",
                stack: "upshift/dev",
                from: "2.2.0",
                to: "2.3.0",
                n: 1,
                volumes: [{ key: "cvat_db", format: "pg15", name: "cvat_cvat_db_pg15" }],
            });
            assert.strictEqual(fs.statSync(ledgerFile(dir)).mode & 0o777, 0o600);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the version set back: the next run still declares the failed attempt's volume; another stack's ledger is not read; a damaged one stops the run", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-ledger-"));
        try {
            setMocks({}, false);
            build("2.3.0", installed("2.2.0"), { backupDir: dir }); // the attempt that fails: deployed stays at 2.2.0
            setMocks();
            const back = build("2.2.0", installed("2.2.0"), { backupDir: dir });
            assert.strictEqual(back.cvat.plan.kind, "unchanged");
            assert.ok(
                volumeNames(back.capture).includes("cvat_cvat_db_pg15"),
                "still declared: the engine would otherwise delete it (refused: protected)",
            );
            const vol = back.capture
                .ofType("docker:index/volume:Volume")
                .find((r) => r.props.name === "cvat_cvat_db_pg15")!;
            assert.strictEqual(vol.protect, true);
            assert.strictEqual(vol.retainOnDelete, true);

            const ledger = JSON.parse(fs.readFileSync(ledgerFile(dir), "utf8"));
            fs.writeFileSync(ledgerFile(dir), JSON.stringify({ ...ledger, stack: "upshift/prod" }));
            assert.ok(
                !volumeNames(build("2.2.0", installed("2.2.0"), { backupDir: dir }).capture).includes(
                    "cvat_cvat_db_pg15",
                ),
                "another stack's attempt",
            );

            fs.writeFileSync(ledgerFile(dir), "{ not json");
            assert.throws(
                () => build("2.2.0", installed("2.2.0"), { backupDir: dir }),
                /cannot read .*2\.2\.0-to-2\.3\.0-a1-volumes\.json .*lists volumes an earlier attempt declared/,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("a rollback past the version that added a volume (2.4.0 -> 2.3.0: ClickHouse's cvat_events_db)", () => {
    before(() => setMocks());
    it("builds, and its rollback point backs up every 2.4.0 volume, the events volume too, which stays declared", () => {
        const at240 = planChange({ catalog: cvatCatalog, to: "2.4.0", deployed: installed("2.3.0") }).next;
        const { cvat, cmd, capture } = build("2.3.0", at240);
        assert.strictEqual(cvat.plan.kind, "rollback");
        const backup = String(cmd("rollback-point").props.create);
        for (const v of ["cvat_cvat_db", "cvat_cvat_data", "cvat_cvat_keys", "cvat_cvat_logs", "cvat_cvat_events_db"])
            assert.match(backup, new RegExp(`--volume ${v}( |$)`));
        assert.ok(
            capture.ofType("docker:index/volume:Volume").some((r) => r.props.name === "cvat_cvat_events_db"),
            "never deleted",
        );
    });
});
