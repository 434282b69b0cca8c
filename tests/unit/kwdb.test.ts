import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Capture, isSecret, Registered, setMocks, value } from "./mocks";

setMocks();
// Imported after setMocks (reference/pulumi-notes.md, "Unit tests").
import { KWDB_DEFAULTS, kwdbCatalogFor } from "../../catalog/kwdb";
import { Kwdb, KwdbArgs } from "../../components/kwdb";
import { DeployedProduct, planChange, PlanRefused } from "../../plan";

const CA_KEY = "-----BEGIN RSA PRIVATE KEY-----MIIEkwdbcakeysecret-----END RSA PRIVATE KEY-----";
const CA_CERT = "-----BEGIN CERTIFICATE-----MIIDkwdbcacert-----END CERTIFICATE-----";
const STORE = "/kaiwudb/deploy/kaiwudb-container";
const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const VOLUME = "docker:index/volume:Volume";

const catalog = (secure = false) => kwdbCatalogFor({ ...KWDB_DEFAULTS, secure });
/** The record a stack holds after installing (or upgrading to) `v`. */
const installed = (v: string, secure = false): DeployedProduct => planChange({ catalog: catalog(secure), to: v }).next;
const upgraded = (from: string, to: string): DeployedProduct =>
    planChange({ catalog: catalog(), to, deployed: installed(from) }).next;

let n = 0;
function build(version: string, deployed?: DeployedProduct, extra: Partial<KwdbArgs> = {}) {
    const capture = new Capture();
    const name = `kwdb${n++}`;
    const kwdb = new Kwdb(
        name,
        { version, deployed, backupDir: "/srv/backups", hooksCommand: "node ./bin/upshift", ...extra },
        { transformations: [capture.transformation] },
    );
    // Step names end with `<from>-to-<to>-<id>` (the prefix is the framework's: product or component name).
    const step = (id: string) => {
        const r = capture.ofType(COMMAND).find((c) => c.name.endsWith(`-${kwdb.plan.from}-to-${kwdb.plan.to}-${id}`));
        if (!r)
            throw new Error(
                `no step ${id}; have ${capture
                    .ofType(COMMAND)
                    .map((c) => c.name)
                    .join(", ")}`,
            );
        return r;
    };
    return { kwdb, capture, name, step, container: () => capture.byName(`${name}-kaiwudb-container`) };
}
const volumeNames = (c: Capture) =>
    c
        .ofType(VOLUME)
        .map((r) => r.props.name)
        .sort();
const stepIds = (c: Capture) => c.ofType(COMMAND).map((r) => r.name.replace(/^.*?-[\d.]+-to-[\d.]+-/, ""));
async function mounts(r: Registered): Promise<string[]> {
    const list = r.props.volumes as { volumeName: pulumi.Output<string>; containerPath: string }[];
    return Promise.all(list.map(async (m) => `${await value(m.volumeName)}:${m.containerPath}`));
}

describe("KWDB component (Pulumi mocks)", () => {
    before(() => setMocks());

    it("a fresh 3.2.1 (insecure) is the vendor's docker run: privileged, ipc shareable, ulimits, -w /kaiwudb/bin, store volume, three ports, ready check", async () => {
        const { kwdb, capture, container } = build("3.2.1");
        assert.strictEqual(kwdb.plan.kind, "install");
        assert.deepStrictEqual(
            capture.ofType(CONTAINER).map((r) => r.props.name),
            ["kaiwudb-container"],
        );
        assert.deepStrictEqual(
            capture.ofType(IMAGE).map((r) => r.props.name),
            ["kwdb/kwdb:3.2.1"],
        );
        assert.deepStrictEqual(
            capture.ofType(COMMAND),
            [],
            "a registry image needs no check and a fresh install runs no step",
        );
        const c = container();
        assert.deepStrictEqual(c.props.command, [
            "./kwbase",
            "start-single-node",
            "--insecure",
            "--listen-addr=0.0.0.0:26257",
            "--http-addr=0.0.0.0:8080",
            "--brpc-addr=0.0.0.0:27257",
            `--store=${STORE}`,
        ]);
        assert.strictEqual(c.props.privileged, true);
        assert.strictEqual(c.props.ipcMode, "shareable");
        assert.strictEqual(c.props.workingDir, "/kaiwudb/bin");
        assert.deepStrictEqual(c.props.ulimits, [
            { name: "memlock", soft: -1, hard: -1 },
            { name: "nofile", soft: 1048576, hard: 1048576 },
        ]);
        assert.deepStrictEqual(
            (c.props.ports as { internal: number; external: number; ip: string }[]).map(
                (p) => `${p.ip}:${p.external}->${p.internal}`,
            ),
            ["127.0.0.1:26257->26257", "127.0.0.1:8080->8080", "127.0.0.1:27257->27257"],
        );
        assert.deepStrictEqual(await mounts(c), [`kwdb_store:${STORE}`]);
        const hc = c.props.healthcheck as { tests: string[] };
        assert.match(hc.tests[1], /curl -fsS 'http:\/\/127\.0\.0\.1:8080\/health\?ready=1'/);
        assert.strictEqual(c.props.wait, true);
        assert.strictEqual(c.props.envs, undefined, "no environment at all in insecure mode");
        const vol = capture.ofType(VOLUME)[0];
        assert.deepStrictEqual([vol.props.name, vol.retainOnDelete, vol.protect], ["kwdb_store", true, true]);
        assert.ok(!c.protect, "the container is never protected (it is replaced on an image swap)");
    });

    it("kwdb:storePath and kwdb:ports change the mount, --store and the published ports", async () => {
        const { container } = build("3.2.1", undefined, {
            storePath: "/kaiwudb/deploy/kwdb-container",
            ports: { sql: 36257, http: 18080, brpc: 37257 },
        });
        const c = container();
        assert.ok((c.props.command as string[]).includes("--store=/kaiwudb/deploy/kwdb-container"));
        assert.deepStrictEqual(await mounts(c), ["kwdb_store:/kaiwudb/deploy/kwdb-container"]);
        assert.deepStrictEqual(
            (c.props.ports as { external: number }[]).map((p) => p.external),
            [36257, 18080, 37257],
        );
    });

    it("a fresh 3.2.1 (secure) makes certificates once into a certs volume before the image and container, from secret CA inputs only", async () => {
        const { capture, container, name } = build("3.2.1", undefined, {
            secure: true,
            secrets: { caKey: pulumi.secret(CA_KEY), caCert: pulumi.secret(CA_CERT) },
        });
        const c = container();
        assert.deepStrictEqual((c.props.command as string[]).slice(0, 3), [
            "./kwbase",
            "start-single-node",
            "--certs-dir=/kaiwudb/certs",
        ]);
        assert.deepStrictEqual(await mounts(c), [`kwdb_store:${STORE}`, "kwdb_certs:/kaiwudb/certs"]);
        assert.match(
            (c.props.healthcheck as { tests: string[] }).tests[1],
            /curl -fsS --cacert \/kaiwudb\/certs\/ca\.crt 'https:\/\/127\.0\.0\.1:8080\/health\?ready=1'/,
        );
        assert.match(
            (c.props.healthcheck as { tests: string[] }).tests[1],
            /kwbase node status --certs-dir=\/kaiwudb\/certs/,
        );
        assert.deepStrictEqual(volumeNames(capture), ["kwdb_certs", "kwdb_store"]);
        const certs = capture.byName(`${name}-certs`);
        assert.strictEqual(
            certs.props.create,
            "UPSHIFT_PARENT_PID=$$ node ./bin/upshift kwdb-certs --volume kwdb_certs --image kwdb/kwdb:3.2.1 --hosts kaiwudb-container",
        );
        assert.strictEqual(certs.props.update, "true", "made once: an image swap does not redo them");
        assert.ok(capture.dependsTransitively(c.name).has(certs.name));
        assert.ok(capture.dependsTransitively(capture.ofType(IMAGE)[0].name).has(certs.name));
        const env = certs.props.environment as Record<string, pulumi.Input<string>>;
        assert.deepStrictEqual(Object.keys(env).sort(), ["KWDB_CA_CERT", "KWDB_CA_KEY"]);
        assert.ok(
            (await isSecret(env.KWDB_CA_KEY)) && (await isSecret(env.KWDB_CA_CERT)),
            "the CA reaches the hook as secret Outputs",
        );
        assert.strictEqual(await value(env.KWDB_CA_KEY), CA_KEY);
    });

    it("secure mode never puts a key or password in a command line, a plain env var, or stdout", async () => {
        const { capture } = build("3.2.1", upgradedSecure(), {
            secure: true,
            secrets: { caKey: pulumi.secret(CA_KEY), caCert: pulumi.secret(CA_CERT) },
        });
        assert.ok(capture.ofType(COMMAND).length >= 4, "certs + the upgrade's steps");
        for (const r of capture.resources) {
            const flat = JSON.stringify(r.props, (_k, v) => (pulumi.Output.isInstance(v) ? "<output>" : v));
            assert.ok(
                !flat.includes("kwdbcakeysecret") && !flat.includes("kwdbcacert"),
                `${r.name} holds a secret in plain inputs`,
            );
        }
        for (const cmd of capture.ofType(COMMAND)) {
            assert.ok(!/password|KEY=|--ca-key=-----/i.test(String(cmd.props.create)), cmd.name);
            for (const [k, v] of Object.entries(
                (cmd.props.environment ?? {}) as Record<string, pulumi.Input<string>>,
            )) {
                if (k === "DOCKER_HOST") continue;
                assert.ok(await isSecret(v), `${cmd.name}: ${k} is not a secret Output`);
            }
            assert.strictEqual(cmd.props.addPreviousOutputInEnv, false);
        }
        for (const c of capture.ofType(CONTAINER))
            assert.strictEqual(c.props.envs, undefined, "the KWDB container gets no secret in its env");
        // The certs hook's stdout/stderr are secret in state as well (pulumi-command #260), besides the hooks never printing one.
        const seen: Record<string, string[] | undefined> = {};
        new Kwdb(
            `kwdb${n++}`,
            {
                version: "3.2.1",
                backupDir: "/srv/backups",
                hooksCommand: "node ./bin/upshift",
                secure: true,
                secrets: { caKey: pulumi.secret(CA_KEY), caCert: pulumi.secret(CA_CERT) },
            },
            {
                transformations: [
                    (a) => {
                        seen[a.name] = (a.opts as pulumi.CustomResourceOptions).additionalSecretOutputs;
                        return undefined;
                    },
                ],
            },
        );
        const certsName = Object.keys(seen).find((k) => k.endsWith("-certs"))!;
        assert.deepStrictEqual(seen[certsName], ["stdout", "stderr"]);
    });

    it("a fresh 2.2.2 pulls kwdb/kwdb:2.2.2 (the KWDB docs' image); mapped to a KaiwuDB.tar name, it first checks the image is loaded, with the fix", () => {
        const { capture, container } = build("2.2.2");
        assert.deepStrictEqual(
            capture.ofType(IMAGE).map((r) => r.props.name),
            ["kwdb/kwdb:2.2.2"],
        );
        assert.ok(
            !capture.resources.some((r) => r.name.endsWith("-image-present")),
            "a registry image needs no load check",
        );
        assert.ok(
            !(container().props.command as string[]).some((a) => a.startsWith("--brpc-addr")),
            "no brpc before 3.x",
        );
        assert.deepStrictEqual(
            (container().props.ports as { internal: number }[]).map((p) => p.internal),
            [26257, 8080],
        );
        // kwdb:images to the name `docker load < KaiwuDB.tar` gives: that is what is checked and used.
        const o = build("2.2.2", undefined, { images: { "kwdb/kwdb:2.2.2": "kaiwudb:2.2.2" } });
        const check = o.capture.byName(`${o.name}-image-present`);
        assert.strictEqual(
            check.props.create,
            "UPSHIFT_PARENT_PID=$$ node ./bin/upshift image-present --image kaiwudb:2.2.2 --how " +
                "'kaiwudb:2.2.2 comes from the vendor'\\''s KaiwuDB.tar, not a registry: load it on that host with `docker load < KaiwuDB.tar`, " +
                "or drop the kwdb:images entry to pull kwdb/kwdb:2.2.2'",
        );
        assert.ok(o.capture.dependsTransitively(o.capture.ofType(IMAGE)[0].name).has(check.name));
        assert.ok(o.capture.dependsTransitively(o.container().name).has(check.name));
        assert.deepStrictEqual(
            o.capture.ofType(IMAGE).map((r) => r.props.name),
            ["kaiwudb:2.2.2"],
        );
    });

    it("adopting the vendor installer's layout reuses its host directories as bind mounts (never new empty volumes), secure by default, with /dev", async () => {
        const { capture, container } = build("2.2.2", undefined, { volumes: { kwdb_store: "/var/lib/kaiwudb" } });
        assert.deepStrictEqual(volumeNames(capture), [], "no named volume: it would start an empty database");
        const mounts = container().props.volumes as {
            hostPath?: string;
            volumeName?: unknown;
            containerPath: string;
        }[];
        assert.deepStrictEqual(
            mounts.map((m) => `${m.hostPath}:${m.containerPath}`),
            ["/var/lib/kaiwudb:/kaiwudb/deploy/kaiwudb-container", "/etc/kaiwudb/certs:/kaiwudb/certs", "/dev:/dev"],
        );
        assert.ok(mounts.every((m) => m.volumeName === undefined));
        assert.ok(
            (container().props.command as string[]).includes("--certs-dir=/kaiwudb/certs"),
            "the installer's default: secure mode",
        );
        // An upgrade within the major keeps the same directories.
        const up = build(
            "2.2.2",
            planChange({
                catalog: kwdbCatalogFor({
                    ...KWDB_DEFAULTS,
                    secure: true,
                    installerDirs: { store: "/var/lib/kaiwudb", certs: "/etc/kaiwudb/certs" },
                }),
                to: "2.2.0",
                volumeNames: { kwdb_store: "/var/lib/kaiwudb" },
            }).next,
            { volumes: { kwdb_store: "/var/lib/kaiwudb" } },
        );
        assert.deepStrictEqual(
            up.kwdb.plan.volumes.map((v) => `${v.key}=${v.name}`),
            ["kwdb_store=/var/lib/kaiwudb", "kwdb_certs=/etc/kaiwudb/certs"],
        );
        // kwdb:secure false still wins for an installer set up insecure.
        const insecure = build("2.2.2", undefined, { volumes: { kwdb_store: "/var/lib/kaiwudb" }, secure: false });
        assert.ok((insecure.container().props.command as string[]).includes("--insecure"));
    });

    it("3.1.0 -> 3.2.1: image swap only, with the restore point first and the same store volume", async () => {
        const { kwdb, capture, container, step } = build("3.2.1", installed("3.1.0"));
        assert.deepStrictEqual(
            kwdb.plan.steps.map((s) => s.kind),
            ["preflight", "backup", "verify-backup", "start"],
        );
        assert.deepStrictEqual(stepIds(capture), ["preflight", "restore-point", "verify-restore-point", "start"]);
        assert.deepStrictEqual(volumeNames(capture), ["kwdb_store"]);
        assert.deepStrictEqual(await mounts(container()), [`kwdb_store:${STORE}`]);
        assert.deepStrictEqual(
            capture.ofType(IMAGE).map((r) => r.props.name),
            ["kwdb/kwdb:3.2.1"],
        );
        assert.ok(
            capture.dependsTransitively(container().name).has(step("verify-restore-point").name),
            "the image swap waits for the verified restore point",
        );
        assert.strictEqual(
            step("restore-point").props.create,
            "UPSHIFT_PARENT_PID=$$ node ./bin/upshift backup --product kwdb --version 3.1.0 --id 3.1.0-to-3.2.1-a1-restore-point --to /srv/backups --label restore-point --volume kwdb_store --stop kaiwudb-container",
        );
        // Identical parameters apart from the image (db-upgrade.md).
        const before = build("3.1.0").container();
        assert.deepStrictEqual(container().props.command, before.props.command);
        assert.deepStrictEqual(
            [
                container().props.privileged,
                container().props.ipcMode,
                container().props.ulimits,
                container().props.workingDir,
            ],
            [before.props.privileged, before.props.ipcMode, before.props.ulimits, before.props.workingDir],
        );
    });

    it("2.2.2 -> 3.2.1: export before the old container goes, 3.2.1 on a new store volume, import and verify after it is healthy; the old volume retained", async () => {
        const { kwdb, capture, container, step } = build("3.2.1", installed("2.2.2"));
        assert.deepStrictEqual(
            kwdb.plan.steps.map((s) => `${s.phase}:${s.id}`),
            [
                "before-stop:preflight",
                "before-stop:restore-point",
                "before-stop:verify-restore-point",
                "before-stop:kwdb-export",
                "after-data-service:kwdb-import",
                "after-app:start",
            ],
        );
        const exp = step("kwdb-export");
        const imp = step("kwdb-import");
        assert.strictEqual(
            exp.props.create,
            "UPSHIFT_PARENT_PID=$$ node ./bin/upshift kwdb-export --container kaiwudb-container --store /kaiwudb/deploy/kaiwudb-container " +
                "--dir upshift-2.2.2-to-3.2.1 --out /srv/backups/kwdb/2.2.2-to-3.2.1-a1-kwdb-export --insecure --stop-after",
        );
        assert.strictEqual(
            imp.props.create,
            "UPSHIFT_PARENT_PID=$$ node ./bin/upshift kwdb-import --container kaiwudb-container --store /kaiwudb/deploy/kaiwudb-container " +
                "--from /srv/backups/kwdb/2.2.2-to-3.2.1-a1-kwdb-export --insecure --strip-partition-interval",
        );
        const c = container();
        assert.ok(capture.dependsTransitively(c.name).has(exp.name), "the container is replaced only after the export");
        assert.ok(
            capture.dependsTransitively(exp.name).has(step("verify-restore-point").name),
            "the export follows the verified restore point",
        );
        assert.ok(capture.dependsTransitively(imp.name).has(c.name), "the import runs on the new, healthy container");
        assert.deepStrictEqual(await mounts(c), [`kwdb_store_kwdb3:${STORE}`]);
        assert.deepStrictEqual(volumeNames(capture), ["kwdb_store", "kwdb_store_kwdb3"]);
        for (const v of capture.ofType(VOLUME))
            assert.deepStrictEqual([v.retainOnDelete, v.protect], [true, true], v.props.name as string);
        assert.deepStrictEqual(
            kwdb.plan.volumes.map((v) => [v.name, v.fromName, v.isNew]),
            [["kwdb_store_kwdb3", "kwdb_store", true]],
        );
        assert.deepStrictEqual(
            capture.ofType(IMAGE).map((r) => r.props.name),
            ["kwdb/kwdb:3.2.1"],
        );
        assert.match(kwdb.plan.steps[4].description, /user passwords are not exported and must be reset/);
    });

    it("2.2.2 -> 3.0.0 strips PARTITION INTERVAL too (3.0 has no custom partition intervals); secure mode passes --certs-dir to both steps", () => {
        const plain = build("3.0.0", installed("2.2.2"));
        assert.ok(String(plain.step("kwdb-import").props.create).endsWith(" --insecure --strip-partition-interval"));
        const secure = build("3.2.1", installed("2.2.2", true), { secure: true });
        assert.match(String(secure.step("kwdb-export").props.create), / --certs-dir \/kaiwudb\/certs --stop-after$/);
        assert.match(
            String(secure.step("kwdb-import").props.create),
            / --certs-dir \/kaiwudb\/certs --strip-partition-interval$/,
        );
        // Both versions use the same certs volume: it is not a data format that changes.
        assert.deepStrictEqual(volumeNames(secure.capture), ["kwdb_certs", "kwdb_store", "kwdb_store_kwdb3"]);
    });

    it("2.0.x jumps the vendor does not support are refused with the way round (2.1.0 / 2.2.0 release notes)", () => {
        // There is no 2.0.0; the first 2.0 release, 2.0.3.2, is named by config validation (config.test.ts).
        assert.throws(
            () => build("2.2.2", installed("2.0.4")),
            (e: Error) =>
                e instanceof PlanRefused &&
                e.message ===
                    "kwdb:version 2.2.2: KWDB 2.0.4 reaches 2.2 only by export and import (KWDB 2.2.0 release notes). " +
                        "Set kwdb:version 2.1.0 first (from 2.0.4), or go straight to 3.x, where upshift exports, imports and verifies the data",
        );
        // KWDB docs: 2.2.1 only from 2.2.0, 2.2.2 only from 2.2.x.
        assert.throws(
            () => build("2.2.2", installed("2.1.0")),
            (e: Error) =>
                e instanceof PlanRefused &&
                e.message ===
                    "kwdb:version 2.2.2: KWDB 2.1.0 cannot be upgraded to 2.2.2 directly (KWDB docs: 2.2.1 only from 2.2.0, 2.2.2 only from 2.2.x). " +
                        "The supported path: 2.1.0 -> 2.2.0 -> 2.2.2; set kwdb:version 2.2.0 first, then 2.2.2",
        );
        assert.throws(() => build("2.2.1", installed("2.1.0")), /2\.1\.0 -> 2\.2\.0 -> 2\.2\.1/);
        // The supported ones: 2.0.4 -> 2.1.0 -> 2.2.0 -> 2.2.1 -> 2.2.2 (and 2.2.0 -> 2.2.2) are image swaps; 2.0.4 -> 3.2.1 is export/import.
        const swap = ["preflight", "backup", "verify-backup", "start"];
        for (const [f, t] of [
            ["2.0.4", "2.1.0"],
            ["2.1.0", "2.2.0"],
            ["2.2.0", "2.2.1"],
            ["2.2.1", "2.2.2"],
            ["2.2.0", "2.2.2"],
            ["3.0.1", "3.2.1"],
        ]) {
            assert.deepStrictEqual(
                build(t, installed(f)).kwdb.plan.steps.map((s) => s.kind),
                swap,
                `${f} -> ${t}`,
            );
        }
        assert.deepStrictEqual(
            build("3.2.1", installed("2.0.4")).kwdb.plan.steps.map((s) => s.kind),
            ["preflight", "backup", "verify-backup", "kwdb-export", "kwdb-import", "start"],
        );
    });

    it("a downgrade with nothing to restore is refused, saying how to go back with a backup", () => {
        assert.throws(
            () => build("3.1.0", installed("3.2.1")),
            (e: Error) => {
                assert.ok(e instanceof PlanRefused);
                assert.match(e.message, /^kwdb:version 3\.1\.0 is older than the deployed 3\.2\.1/);
                assert.match(
                    e.message,
                    /KWDB cannot be downgraded in place \(KWDB docs, "Database Upgrade"\): to run 3\.1\.0 again, restore a backup taken at 3\.1\.0 into a new volume \(`upshift list --product kwdb`, then `upshift restore --backup \/srv\/backups\/kwdb\/<id> --volume <archived>=<new volume>`\)/,
                );
                return true;
            },
        );
        assert.throws(() => build("2.2.2", installed("3.2.1")), /KWDB cannot be downgraded in place/);
    });

    it("3.2.1 back to 2.2.2 after the export/import upgrade re-attaches the retained 2.x store (backed up first), never converts data down", () => {
        const { kwdb, capture, container } = build("2.2.2", upgraded("2.2.2", "3.2.1"));
        assert.strictEqual(kwdb.plan.kind, "rollback");
        assert.deepStrictEqual(
            kwdb.plan.steps.map((s) => s.kind),
            ["preflight", "backup", "verify-backup", "reattach", "start"],
        );
        assert.ok(!kwdb.plan.steps.some((s) => s.kind === "kwdb-export" || s.kind === "kwdb-import"));
        assert.deepStrictEqual(volumeNames(capture), ["kwdb_store", "kwdb_store_kwdb3"]);
        return mounts(container()).then((m) => assert.deepStrictEqual(m, [`kwdb_store:${STORE}`]));
    });

    it("a rerun with nothing changed plans no step", () => {
        const { kwdb, capture } = build("3.2.1", upgraded("2.2.2", "3.2.1"));
        assert.strictEqual(kwdb.plan.kind, "unchanged");
        assert.deepStrictEqual(capture.ofType(COMMAND), []);
    });
});

function upgradedSecure(): DeployedProduct {
    return installed("2.2.2", true);
}
