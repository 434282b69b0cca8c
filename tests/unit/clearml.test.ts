// ClearML under Pulumi mocks: the catalog's plans and the component's resource graph.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Capture, setMocks, value } from "./mocks";

setMocks();
import { clearmlCatalog } from "../../catalog/clearml";
import { Clearml, ClearmlArgs } from "../../components/clearml";
import { validateConfig } from "../../config/schema";
import { DeployedProduct, describePlan, Plan, planChange, PlanRefused } from "../../plan";

const catalog = clearmlCatalog();
const installed = (v: string): DeployedProduct => planChange({ catalog, to: v }).next;
const upgraded = (from: string, to: string): DeployedProduct =>
    planChange({ catalog, to, deployed: installed(from) }).next;
const plan = (from: string | DeployedProduct, to: string): Plan =>
    planChange({ catalog, to, deployed: typeof from === "string" ? installed(from) : from });
const ids = (p: Plan) => p.steps.map((s) => s.id);

let n = 0;
function build(version: string, deployed?: DeployedProduct, extra: Partial<ClearmlArgs> = {}) {
    const capture = new Capture();
    const name = `clearml${n++}`;
    const c = new Clearml(
        name,
        { version, deployed, backupDir: "/srv/backups", hooksCommand: "upshift", ...extra },
        { transformations: [capture.transformation] },
    );
    const cmd = (id: string) => capture.byName(`${name}-${c.plan.from}-to-${c.plan.to}-${id}`);
    const container = (s: string) => capture.byName(`${name}-${s}`);
    return { c, capture, name, cmd, container };
}
const containerNames = (c: Capture) =>
    c
        .ofType("docker:index/container:Container")
        .map((r) => r.props.name)
        .sort();
const images = (c: Capture) =>
    c
        .ofType("docker:index/remoteImage:RemoteImage")
        .map((r) => r.props.name)
        .sort();
const binds = (r: { props: Record<string, unknown> }) =>
    (r.props.volumes as { hostPath: string; containerPath: string }[]).map((v) => `${v.hostPath}:${v.containerPath}`);

describe("ClearML catalog and component (Pulumi mocks)", () => {
    it("a fresh 1.16.0 registers the compose services on the /opt/clearml dirs, with no Docker volume and no step but the adoption check", () => {
        const { capture, container } = build("1.16.0");
        assert.deepStrictEqual(containerNames(capture), [
            "async_delete",
            "clearml-apiserver",
            "clearml-elastic",
            "clearml-fileserver",
            "clearml-mongo",
            "clearml-redis",
            "clearml-webserver",
        ]);
        assert.deepStrictEqual(images(capture), [
            "allegroai/clearml:1.16.0",
            "docker.elastic.co/elasticsearch/elasticsearch:7.17.18",
            "mongo:4.4.29",
            "redis:6.2",
        ]);
        assert.strictEqual(capture.ofType("docker:index/volume:Volume").length, 0, "data are bind-mounted host dirs");
        assert.deepStrictEqual(
            capture.ofType("command:local:Command").map((r) => r.name.replace(/^clearml\d+-/, "")),
            ["adopt-check"],
            "tests/unit/adoption.test.ts",
        );
        assert.deepStrictEqual(binds(container("clearml-mongo")), [
            "/opt/clearml/data/mongo_4/db:/data/db",
            "/opt/clearml/data/mongo_4/configdb:/data/configdb",
        ]);
        assert.deepStrictEqual(binds(container("clearml-elastic")), [
            "/opt/clearml/data/elastic_7:/usr/share/elasticsearch/data",
        ]);
        assert.deepStrictEqual(binds(container("clearml-apiserver")), [
            "/opt/clearml/logs:/var/log/clearml",
            "/opt/clearml/config:/opt/clearml/config",
            "/opt/clearml/data/fileserver:/mnt/fileserver",
        ]);
    });

    it("ports, the apiserver's waited-on /debug.ping healthcheck and the vendor's Elasticsearch settings", async () => {
        const { container } = build("1.16.0");
        const ports = (s: string) =>
            (container(s).props.ports as { internal: number; external: number }[]).map(
                (p) => `${p.external}->${p.internal}`,
            );
        assert.deepStrictEqual(ports("clearml-apiserver"), ["8008->8008"]);
        assert.deepStrictEqual(ports("clearml-fileserver"), ["8081->8081"]);
        assert.deepStrictEqual(ports("clearml-webserver"), ["8080->80"]);
        const api = container("clearml-apiserver");
        assert.strictEqual(api.props.wait, true);
        assert.match((api.props.healthcheck as { tests: string[] }).tests.join(" "), /localhost:8008\/debug\.ping/);
        const es = container("clearml-elastic");
        const env = await value(es.props.envs as pulumi.Output<string[]>);
        for (const e of ["discovery.type=single-node", "bootstrap.memory_lock=true"]) assert.ok(env!.includes(e), e);
        // The vendor's 1.16.0 file no longer sets ES_JAVA_OPTS (reference/upstream/clearml/1.16.0.yml).
        assert.ok(!env!.some((e) => e.startsWith("ES_JAVA_OPTS=")));
        assert.deepStrictEqual(es.props.ulimits, [
            { name: "memlock", soft: -1, hard: -1 },
            { name: "nofile", soft: 65536, hard: 65536 },
        ]);
        assert.deepStrictEqual((container("async_delete").props.entrypoints as string[]).slice(0, 3), [
            "python3",
            "-m",
            "jobs.async_urls_delete",
        ]);
    });

    it("a fresh 2.3.0 uses clearml/server, Mongo 7 (mongosh healthcheck), ES 8.17 and Redis 7.4.1; the host needs vm.max_map_count", () => {
        const { capture, container } = build("2.3.0");
        assert.deepStrictEqual(images(capture), [
            "clearml/server:2.3.0",
            "elasticsearch:8.17.0",
            "mongo:7.0.22",
            "redis:7.4.1",
        ]);
        assert.strictEqual((container("clearml-mongo").props.healthcheck as { tests: string[] }).tests[1], "mongosh");
        assert.match(catalog.hostRequirements!("2.3.0").join("\n"), /vm\.max_map_count=262144/);
    });

    it("the app image per range: allegroai/trains before 0.17, allegroai/clearml to 2.0, clearml/server from 2.1.0; async_delete from 1.7", () => {
        const app = (v: string) => catalog.services(v).find((s) => s.name.endsWith("-apiserver"))!;
        assert.deepStrictEqual(
            ["0.16.1", "0.17.0", "2.0.0", "2.1.0"].map((v) => `${app(v).name} ${app(v).image}`),
            [
                "trains-apiserver allegroai/trains:0.16.1",
                "clearml-apiserver allegroai/clearml:0.17.0",
                "clearml-apiserver allegroai/clearml:2.0.0",
                "clearml-apiserver clearml/server:2.1.0",
            ],
        );
        // async_delete first appears in the vendor's 1.7.0 file.
        assert.ok(!catalog.services("1.6.0").some((s) => s.name === "async_delete"));
        assert.ok(catalog.services("1.7.0").some((s) => s.name === "async_delete"));
        assert.strictEqual(
            catalog.dataVolumes("1.1.1").find((v) => v.key === "mongo_db")!.defaultName,
            "/opt/clearml/data/mongo/db",
        );
    });

    it("clearml:dataDir moves every host dir; agentServices adds the agent container; images follow the mirror", () => {
        const { capture, container } = build("2.3.0", undefined, {
            dataDir: "/srv/clearml/",
            features: { agentServices: true },
            registryMirror: "mirror.local:5000",
        });
        assert.deepStrictEqual(binds(container("clearml-redis")), ["/srv/clearml/data/redis:/data"]);
        assert.ok(containerNames(capture).includes("clearml-agent-services"));
        assert.ok(images(capture).every((i) => String(i).startsWith("mirror.local:5000/")));
    });

    it("1.1.1 -> 1.2.0: restore point, stop, copy data/mongo into data/mongo_4 (1000:1000), then FCV 4.0, 4.2, 4.4 in order on the copy, before the new mongo starts", () => {
        const { c, capture, cmd, container } = build("1.2.0", installed("1.1.1"));
        assert.deepStrictEqual(ids(c.plan), [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "stop",
            "copy-mongo_db",
            "copy-mongo_configdb",
            "mongo-fcv-4.0",
            "mongo-fcv-4.2",
            "mongo-fcv-4.4",
            "start",
        ]);
        assert.strictEqual(
            cmd("copy-mongo_db").props.create,
            "UPSHIFT_PARENT_PID=$$ upshift copy-dir --from /opt/clearml/data/mongo/db --to /opt/clearml/data/mongo_4/db --owner 1000:1000",
        );
        assert.strictEqual(
            cmd("copy-mongo_configdb").props.create,
            "UPSHIFT_PARENT_PID=$$ upshift copy-dir --from /opt/clearml/data/mongo/configdb --to /opt/clearml/data/mongo_4/configdb --owner 1000:1000",
        );
        assert.deepStrictEqual(
            ["4.0", "4.2", "4.4"].map((f) => cmd(`mongo-fcv-${f}`).props.create),
            [
                "UPSHIFT_PARENT_PID=$$ upshift mongo-fcv --image mongo:4.0.27 --db-dir /opt/clearml/data/mongo_4/db --configdb-dir /opt/clearml/data/mongo_4/configdb --fcv 4.0 --shell mongo",
                "UPSHIFT_PARENT_PID=$$ upshift mongo-fcv --image mongo:4.2.16 --db-dir /opt/clearml/data/mongo_4/db --configdb-dir /opt/clearml/data/mongo_4/configdb --fcv 4.2 --shell mongo",
                "UPSHIFT_PARENT_PID=$$ upshift mongo-fcv --image mongo:4.4.9 --db-dir /opt/clearml/data/mongo_4/db --configdb-dir /opt/clearml/data/mongo_4/configdb --fcv 4.4 --shell mongo",
            ],
        );
        assert.ok(
            c.plan.steps.filter((s) => s.kind === "mongo-fcv").every((s) => !s.reversible),
            "each FCV raise is a point of no return",
        );
        // Order: each step after the one before; the new mongo after the last hop; the apiserver after the new mongo.
        const chain = [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "stop",
            "copy-mongo_db",
            "copy-mongo_configdb",
            "mongo-fcv-4.0",
            "mongo-fcv-4.2",
            "mongo-fcv-4.4",
        ];
        for (let i = 1; i < chain.length; i++)
            assert.deepStrictEqual(cmd(chain[i]).dependsOn, [cmd(chain[i - 1]).name]);
        assert.ok(capture.dependsTransitively(container("clearml-mongo").name).has(cmd("mongo-fcv-4.4").name));
        assert.ok(
            capture.dependsTransitively(container("clearml-apiserver").name).has(container("clearml-mongo").name),
        );
        assert.deepStrictEqual(binds(container("clearml-mongo")), [
            "/opt/clearml/data/mongo_4/db:/data/db",
            "/opt/clearml/data/mongo_4/configdb:/data/configdb",
        ]);
        assert.match(
            cmd("stop").props.create as string,
            /^UPSHIFT_PARENT_PID=\$\$ upshift stop --container clearml-mongo,clearml-elastic,clearml-redis,clearml-fileserver,clearml-apiserver,clearml-webserver,clearml-agent-services$/,
            "every 1.1.1 container, the optional agent too (a missing one is fine)",
        );
        // The restore point backs up the host dirs of 1.1.1 (the original stays untouched and is recorded as retained).
        assert.match(
            cmd("restore-point").props.create as string,
            /--dir \/opt\/clearml\/data\/mongo\/db --dir \/opt\/clearml\/data\/mongo\/configdb --dir \/opt\/clearml\/data\/elastic_7/,
        );
        assert.strictEqual(c.plan.next.volumes["mongo_db@mongo36"].name, "/opt/clearml/data/mongo/db");
    });

    it("1.16.0 -> 2.3.0: through 1.17, 2.0 and 2.3 in order on copies, each hop waiting for a healthy apiserver, a verified backup before each later point of no return", () => {
        const { c, capture, cmd, container } = build("2.3.0", installed("1.16.0"));
        assert.deepStrictEqual(ids(c.plan), [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "stop",
            "copy-mongo_db",
            "copy-mongo_configdb",
            "copy-elastic",
            "copy-redis",
            "intermediate-server-1.17.1",
            "backup-before-2.0.0",
            "verify-backup-before-2.0.0",
            "intermediate-server-2.0.0",
            "backup-before-2.3.0",
            "verify-backup-before-2.3.0",
            "intermediate-server-2.3.0",
            "start",
        ]);
        const hops = c.plan.steps.filter((s) => s.kind === "intermediate-server");
        assert.deepStrictEqual(
            hops.map((s) => [s.params.version, s.params.fcv, s.reversible]),
            [
                ["1.17.1", "5.0", false],
                ["2.0.0", "6.0", false],
                ["2.3.0", "7.0", false],
            ],
        );
        assert.match(hops[0].description, /4\.4 -> 5\.0 and upgrades the Elasticsearch data 7 -> 8/);
        assert.ok(hops.every((h) => /until \/debug\.ping answers/.test(h.description)));
        // Every point of no return is directly preceded by a verified backup (the restore point for the first, after the copies).
        for (const h of ["2.0.0", "2.3.0"]) {
            assert.deepStrictEqual(cmd(`intermediate-server-${h}`).dependsOn, [cmd(`verify-backup-before-${h}`).name]);
            assert.deepStrictEqual(cmd(`verify-backup-before-${h}`).dependsOn, [cmd(`backup-before-${h}`).name]);
        }
        assert.ok(
            capture.dependsTransitively(cmd("intermediate-server-1.17.1").name).has(cmd("verify-restore-point").name),
        );
        assert.strictEqual(
            cmd("backup-before-2.0.0").props.create,
            "UPSHIFT_PARENT_PID=$$ upshift backup --product clearml --version 1.17.1 --id 1.16.0-to-2.3.0-a1-backup-before-2.0.0 --to /srv/backups " +
                "--label backup-before-2.0.0 --dir /opt/clearml/data/mongo_4/db_mongo70 --dir /opt/clearml/data/mongo_4/configdb_mongo70 --dir /opt/clearml/data/elastic_7_es8 --dir /opt/clearml/data/redis_rdb12",
        );
        assert.strictEqual(
            cmd("verify-backup-before-2.3.0").props.create,
            "UPSHIFT_PARENT_PID=$$ upshift verify --backup /srv/backups/clearml/1.16.0-to-2.3.0-a1-backup-before-2.3.0 --test-restore",
        );
        // The copies: the 1.16 data stays as it was, retained for a rollback; the new containers use the copies after the last hop.
        assert.strictEqual(
            cmd("copy-elastic").props.create,
            "UPSHIFT_PARENT_PID=$$ upshift copy-dir --from /opt/clearml/data/elastic_7 --to /opt/clearml/data/elastic_7_es8 --owner 1000:1000",
        );
        assert.ok(
            capture.dependsTransitively(container("clearml-mongo").name).has(cmd("intermediate-server-2.3.0").name),
        );
        assert.deepStrictEqual(binds(container("clearml-elastic")), [
            "/opt/clearml/data/elastic_7_es8:/usr/share/elasticsearch/data",
        ]);
        assert.match(describePlan(c.plan), /intermediate-server, point of no return\] run ClearML Server 2\.0\.0/);
        assert.match(
            describePlan(c.plan),
            /new dir \/opt\/clearml\/data\/mongo_4\/db_mongo70 for mongo_db \(mongo70\); \/opt\/clearml\/data\/mongo_4\/db is kept/,
        );
    });

    it("1.1.1 -> 2.3.0 composes the Mongo 4.4 chain and the three hops, one stop, one copy per data dir", () => {
        const p = plan("1.1.1", "2.3.0");
        assert.deepStrictEqual(
            ids(p).filter((i) => !/backup|preflight|restore-point/.test(i)),
            [
                "stop",
                "copy-mongo_db",
                "copy-mongo_configdb",
                "mongo-fcv-4.0",
                "mongo-fcv-4.2",
                "mongo-fcv-4.4",
                "copy-elastic",
                "copy-redis",
                "intermediate-server-1.16.2",
                "intermediate-server-1.17.1",
                "intermediate-server-2.0.0",
                "intermediate-server-2.3.0",
                "start",
            ],
        );
        for (const h of ["1.16.2", "1.17.1"])
            assert.ok(
                ids(p).indexOf(`verify-backup-before-${h}`) === ids(p).indexOf(`intermediate-server-${h}`) - 1,
                h,
            );
    });

    it("1.9.2 -> 2.3.0: Elasticsearch 7.16 data meets ES 8 only after a hop through 1.16.2 (ES 7.17), each point of no return after a verified backup", () => {
        // ES 8 refuses indices last written by 7.16 or older ("upgrade to 7.17 first"); 1.9.2 runs ES 7.16.2.
        const p = plan("1.9.2", "2.3.0");
        assert.deepStrictEqual(ids(p), [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "stop",
            "copy-mongo_db",
            "copy-mongo_configdb",
            "copy-elastic",
            "copy-redis",
            "intermediate-server-1.16.2",
            "backup-before-1.17.1",
            "verify-backup-before-1.17.1",
            "intermediate-server-1.17.1",
            "backup-before-2.0.0",
            "verify-backup-before-2.0.0",
            "intermediate-server-2.0.0",
            "backup-before-2.3.0",
            "verify-backup-before-2.3.0",
            "intermediate-server-2.3.0",
            "start",
        ]);
        const hops = p.steps.filter((s) => s.kind === "intermediate-server");
        assert.deepStrictEqual(
            hops.map((s) => [s.params.version, s.params.elasticImage, s.reversible]),
            [
                ["1.16.2", "${image:clearml-elastic:1.16.2}", false],
                ["1.17.1", "${image:clearml-elastic:1.17.1}", false],
                ["2.0.0", "${image:clearml-elastic:2.0.0}", false],
                ["2.3.0", "${image:clearml-elastic:2.3.0}", false],
            ],
        );
        assert.match(
            hops[0].description,
            /Elasticsearch 7\.17\.18 rewrites the indices last written by 7\.16\.2, which Elasticsearch 8 refuses/,
        );
        // Before every point of no return: the verified restore point for the first, a verified backup for each later one.
        const order = ids(p);
        assert.strictEqual(order.indexOf("verify-restore-point") < order.indexOf("intermediate-server-1.16.2"), true);
        for (const h of ["1.17.1", "2.0.0", "2.3.0"])
            assert.strictEqual(
                order.indexOf(`verify-backup-before-${h}`),
                order.indexOf(`intermediate-server-${h}`) - 1,
                h,
            );
        assert.strictEqual(p.steps.find((s) => s.id === "backup-before-1.17.1")!.params.version, "1.16.2");
    });

    it("no Elasticsearch 7.17 hop when the data is already on 7.17 (1.10 -> 1.17) or never reaches ES 8 (1.9.2 -> 1.16.2)", () => {
        assert.ok(!ids(plan("1.10.0", "1.17.1")).includes("intermediate-server-1.16.2"));
        assert.deepStrictEqual(ids(plan("1.9.2", "1.16.2")), [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "start",
        ]);
    });

    it("Trains Server 0.16 is adopted from /opt/trains, and an upgrade from it keeps using those dirs (never new empty ones)", () => {
        const p016 = planChange({ catalog, to: "0.16.1" });
        assert.deepStrictEqual(p016.volumes.map((v) => v.name).sort(), [
            "/opt/trains/config",
            "/opt/trains/data/elastic_7",
            "/opt/trains/data/fileserver",
            "/opt/trains/data/mongo/configdb",
            "/opt/trains/data/mongo/db",
            "/opt/trains/data/redis",
            "/opt/trains/logs",
        ]);
        const up = planChange({ catalog, to: "1.1.1", deployed: p016.next });
        assert.deepStrictEqual(up.volumes.map((v) => v.name).sort(), p016.volumes.map((v) => v.name).sort());
    });

    it("a patch or minor bump without a data change plans only the restore point", () => {
        assert.deepStrictEqual(ids(plan("1.3.0", "1.9.2")), [
            "preflight",
            "restore-point",
            "verify-restore-point",
            "start",
        ]);
        assert.strictEqual(plan("2.3.0", "2.3.0").kind, "unchanged");
    });

    it("0.15 -> 1.2 is refused, naming the vendor's Elasticsearch 5 -> 7 procedure; config validation says the same", () => {
        assert.throws(
            () => planChange({ catalog, to: "1.2.0", deployed: { version: "0.15.1", volumes: {} } }),
            (e: Error) =>
                e instanceof PlanRefused &&
                /Elasticsearch 5 -> 7 migration procedure/.test(e.message) &&
                /Upgrading Server from v0\.15 or Older/.test(e.message),
        );
        assert.throws(
            () => validateConfig({ "clearml:version": "0.15.1" }, () => false),
            /older than upshift supports \(0\.16\.0\).*Elasticsearch 5 -> 7/,
        );
    });

    it("a downgrade across an FCV raise is refused, naming the FCV, when nothing from before the raise is kept", () => {
        assert.throws(
            () => plan("2.3.0", "2.2.0"),
            (e: Error) =>
                e instanceof PlanRefused &&
                /needs mongo_db in format mongo60 \(Mongo featureCompatibilityVersion 6\.0\)/.test(e.message) &&
                /restore a backup taken at 2\.2\.0/.test(e.message),
        );
    });

    it("a downgrade across an FCV raise after our own upgrade backs up first, then re-attaches the pre-raise data the copy left untouched", () => {
        const p = plan(upgraded("1.16.0", "2.3.0"), "1.16.0");
        assert.strictEqual(p.kind, "rollback");
        assert.deepStrictEqual(ids(p), [
            "preflight",
            "stop-apps",
            "rollback-point",
            "verify-rollback-point",
            "reattach-mongo_db",
            "reattach-mongo_configdb",
            "reattach-elastic",
            "reattach-redis",
            "start",
        ]);
        assert.deepStrictEqual(
            p.volumes
                .filter((v) => v.key !== "fileserver" && v.key !== "logs" && v.key !== "config")
                .map((v) => v.name),
            [
                "/opt/clearml/data/mongo_4/db",
                "/opt/clearml/data/mongo_4/configdb",
                "/opt/clearml/data/elastic_7",
                "/opt/clearml/data/redis",
            ],
        );
        assert.ok(
            p.steps.every((s) => s.kind !== "mongo-fcv" && s.kind !== "intermediate-server"),
            "never an in-place data downgrade",
        );
        // A second upgrade never reuses the retained 1.16 path, nor the stale 2.3 dir from before the
        // rollback: it copies into a fresh one, and the stale one stays on record (retained).
        const again = plan(p.next, "2.3.0");
        assert.strictEqual(
            again.volumes.find((v) => v.key === "mongo_db")!.name,
            "/opt/clearml/data/mongo_4/db_mongo70_2",
        );
        assert.strictEqual(again.next.volumes["mongo_db@mongo70~2.3.0"].name, "/opt/clearml/data/mongo_4/db_mongo70");
    });

    it("a same-FCV downgrade (schema migrated) is refused without a restore point, and restores the one taken before the upgrade into new dirs", () => {
        assert.throws(
            () => plan("1.16.0", "1.15.0"),
            (e: Error) =>
                e instanceof PlanRefused &&
                /mongo_db keeps the same format \(mongo44 \(Mongo featureCompatibilityVersion 4\.4\)\)/.test(
                    e.message,
                ) &&
                /no restore point taken at 1\.15\.0/.test(e.message),
        );
        const p = plan(upgraded("1.15.0", "1.16.0"), "1.15.0");
        assert.deepStrictEqual(ids(p), [
            "preflight",
            "stop-apps",
            "rollback-point",
            "verify-rollback-point",
            "restore-mongo_db",
            "restore-elastic",
            "start",
        ]);
        const { cmd } = build("1.15.0", upgraded("1.15.0", "1.16.0"));
        assert.strictEqual(
            cmd("restore-mongo_db").props.create,
            "UPSHIFT_PARENT_PID=$$ upshift restore --backup /srv/backups/clearml/1.15.0-to-1.16.0-a1-restore-point " +
                "--dir /opt/clearml/data/mongo_4/db=/opt/clearml/data/mongo_4/db_rollback_1_15_0",
        );
    });
});

describe("ClearML without agent-services (issue 12, finding 10)", () => {
    before(() => setMocks());
    it("the preflight does not require the optional clearml-agent-services; the backup still stops it when it runs", () => {
        const { cmd } = build("1.17.0", installed("1.16.0"));
        const preflight = cmd("preflight").props.create as string;
        assert.ok(!preflight.includes("clearml-agent-services"), preflight);
        assert.match(preflight, /--container clearml-apiserver/);
        assert.match(cmd("restore-point").props.create as string, /--stop \S*clearml-agent-services/);
    });
});
