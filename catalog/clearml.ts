// ClearML Server 0.16.0 - 2.3.x as data: the compose services per release range, the data
// directories under the vendor's /opt/clearml layout, and the upgrade rules (Mongo 3.6 -> 4.4 chain
// at 1.2, the 1.17 -> 2.0 -> 2.3 hops). Sources: ../shared/reference/product-catalog.md (ClearML),
// vendor-guides/clearml-mongo44-migration.md, the vendor's docker-compose.yml per release.
// Entries marked *unconfirmed* are inferred, not read from a release's compose file.
import { DataVolume, PlanStep, ProductCatalog, RuleContext, ServiceSpec } from "./types";
import { byRange, cmp, lt } from "./versions";

/** The vendor's layout root; `clearml:dataDir` overrides it (an install elsewhere is adopted in place). */
export const CLEARML_DATA_DIR = "/opt/clearml";

/**
 * Releases the catalog knows: every tag of clearml/clearml-server with a compose file
 * (reference/upstream/clearml/; 0.16.x sat at the repo root) and, from the release notes, 1.17.1
 * and 2.4.0, which have none there.
 */
export const CLEARML_VERSIONS: readonly string[] = [
    "0.16.0",
    "0.16.1",
    "0.17.0",
    "1.0.0",
    "1.0.1",
    "1.0.2",
    "1.1.0",
    "1.1.1",
    "1.2.0",
    "1.3.0",
    "1.3.1",
    "1.4.0",
    "1.5.0",
    "1.6.0",
    "1.7.0",
    "1.8.0",
    "1.9.0",
    "1.9.1",
    "1.9.2",
    "1.10.0",
    "1.10.1",
    "1.11.0",
    "1.12.0",
    "1.12.1",
    "1.13.0",
    "1.13.1",
    "1.14.0",
    "1.14.1",
    "1.15.0",
    "1.16.0",
    "1.16.1",
    "1.16.2",
    "1.17.0",
    "1.17.1",
    "2.0.0",
    "2.1.0",
    "2.2.0",
    "2.3.0",
    "2.4.0",
];

/** Backing services per range (product-catalog.md table). `fcv` is the Mongo featureCompatibilityVersion the data is at. */
const BACKING = [
    ["0.16.0", { mongo: "mongo:3.6.5", fcv: "3.6", elastic: "7.6.2", redis: "redis:5.0" }],
    ["1.2.0", { mongo: "mongo:4.4.9", fcv: "4.4", elastic: "7.16.2", redis: "redis:5.0" }],
    ["1.10.0", { mongo: "mongo:4.4.9", fcv: "4.4", elastic: "7.17.7", redis: "redis:5.0" }],
    ["1.15.0", { mongo: "mongo:4.4.29", fcv: "4.4", elastic: "7.17.18", redis: "redis:6.2" }],
    ["1.17.0", { mongo: "mongo:5.0.26", fcv: "5.0", elastic: "8.15.3", redis: "redis:6.2" }],
    ["2.0.0", { mongo: "mongo:6.0.19", fcv: "6.0", elastic: "8.17.0", redis: "redis:7.4.1" }],
    ["2.3.0", { mongo: "mongo:7.0.22", fcv: "7.0", elastic: "8.17.0", redis: "redis:7.4.1" }],
    // 2.4.0 release notes: Elastic 8.19.9 (no compose file in reference/upstream; Mongo and Redis as 2.3.0).
    ["2.4.0", { mongo: "mongo:7.0.22", fcv: "7.0", elastic: "8.19.9", redis: "redis:7.4.1" }],
] as const;

/** The Elasticsearch image: Elastic's registry up to 1.17, Docker Hub's official image from 2.0.0. */
const elasticImage = (v: string) =>
    `${lt(v, "2.0.0") ? "docker.elastic.co/elasticsearch/" : ""}elasticsearch:${byRange(v, BACKING).elastic}`;
/** Mongo 3.6 knows the sort-memory limit by its old name; 4.4 renamed it (mongo 3.6 does not start with the new one). */
const mongoSortLimit = (fcv: string) =>
    `${fcv === "3.6" ? "internalQueryExecMaxBlockingSortBytes" : "internalQueryMaxBlockingSortMemoryUsageBytes"}=196100200`;
/** Elasticsearch release of a ClearML version's data, as [major, minor]. */
const esRelease = (v: string) => byRange(v, BACKING).elastic.split(".").slice(0, 2).map(Number);
/**
 * Elasticsearch 8 refuses indices last written by 7.16 or older ("upgrade to 7.17 first": Elastic's
 * "Upgrade Elasticsearch" guide, 8.x: upgrading from 7.17 is the only supported path). A jump from
 * before 1.10 (ES <= 7.16) to 1.17 or later (ES 8) therefore runs the newest 1.16.x (ES 7.17) first.
 */
export const needsElastic717Hop = (from: string, to: string): boolean => {
    const [fm, fn] = esRelease(from);
    return (fm < 7 || (fm === 7 && fn < 17)) && esRelease(to)[0] >= 8;
};

/** Trains era (<= 0.16.x): `trains-*` containers and image; ClearML names from 0.17.0. */
const trains = (v: string) => lt(v, "0.17.0");
const prefix = (v: string) => (trains(v) ? "trains" : "clearml");

/** App image per range: allegroai/trains before 0.17, allegroai/clearml up to 2.0, clearml/server from 2.1.0. */
export function clearmlAppImage(v: string): string {
    if (trains(v)) return `allegroai/trains:${v}`;
    return lt(v, "2.1.0") ? `allegroai/clearml:${v}` : `clearml/server:${v}`;
}

/** Container names at a version (compose container_name). */
export function clearmlNames(v: string) {
    const p = prefix(v);
    return {
        apiserver: `${p}-apiserver`,
        fileserver: `${p}-fileserver`,
        webserver: `${p}-webserver`,
        mongo: `${p}-mongo`,
        elastic: `${p}-elastic`,
        redis: `${p}-redis`,
        agentServices: `${p}-agent-services`,
        asyncDelete: "async_delete",
    };
}

const esMajor = (v: string) => byRange(v, BACKING).elastic.split(".")[0];
const redisFormat = (v: string) => (byRange(v, BACKING).redis.startsWith("redis:7") ? "rdb12" : "rdb9");
const fcvFormat = (v: string) => `mongo${byRange(v, BACKING).fcv.replace(".", "")}`;
/** Mongo shell in the image: the legacy `mongo` up to 5.0, only `mongosh` from 6.0 (product-catalog.md, Health). */
export const mongoShell = (mongoImage: string) =>
    Number(/:(\d+)/.exec(mongoImage)?.[1] ?? "0") >= 6 ? "mongosh" : "mongo";

function dataVolumesAt(root: string, v: string): DataVolume[] {
    const n = clearmlNames(v);
    const b = byRange(v, BACKING);
    // The 3.6 data lives in data/mongo; the 1.2 migration copies it into data/mongo_4 (vendor guide),
    // and the vendor keeps that path for every later Mongo major.
    const mongoDir = b.fcv === "3.6" ? `${root}/data/mongo` : `${root}/data/mongo_4`;
    const fcv = { format: fcvFormat(v), formatLabel: `Mongo featureCompatibilityVersion ${b.fcv}` };
    const app = trainsInside(v) ? "trains" : "clearml";
    return [
        {
            key: "mongo_db",
            type: "dir",
            defaultName: `${mongoDir}/db`,
            mount: "/data/db",
            owner: n.mongo,
            ...fcv,
            schema: true,
            vendorData: true,
        },
        {
            key: "mongo_configdb",
            type: "dir",
            defaultName: `${mongoDir}/configdb`,
            mount: "/data/configdb",
            owner: n.mongo,
            ...fcv,
            schema: false,
        },
        // The vendor keeps `elastic_7` as the path for Elasticsearch 8 too; its index mappings are migrated by the apiserver.
        {
            key: "elastic",
            type: "dir",
            defaultName: `${root}/data/elastic_7`,
            mount: "/usr/share/elasticsearch/data",
            owner: n.elastic,
            format: `es${esMajor(v)}`,
            formatLabel: `Elasticsearch ${esMajor(v)} data`,
            schema: true,
            vendorData: true,
        },
        // Redis 7.4 writes RDB format 12, which 6.2 cannot read (clearml-server#273).
        {
            key: "redis",
            type: "dir",
            defaultName: `${root}/data/redis`,
            mount: "/data",
            owner: n.redis,
            format: redisFormat(v),
            formatLabel: `Redis RDB format ${redisFormat(v).slice(3)}`,
            schema: false,
        },
        {
            key: "fileserver",
            type: "dir",
            defaultName: `${root}/data/fileserver`,
            mount: "/mnt/fileserver",
            owner: n.fileserver,
            format: "files",
            schema: false,
        },
        {
            key: "logs",
            type: "dir",
            defaultName: `${root}/logs`,
            mount: `/var/log/${app}`,
            owner: n.apiserver,
            format: "files",
            schema: false,
        },
        {
            key: "config",
            type: "dir",
            defaultName: `${root}/config`,
            mount: `/opt/${app}/config`,
            owner: n.apiserver,
            format: "files",
            schema: false,
        },
    ];
}

/** Elasticsearch settings of the vendor's compose file (single node, memory locked, 2 GB heap). */
function elasticEnv(v: string): Record<string, string> {
    const upTo115 = lt(v, "1.15.0");
    const watermark = lt(v, "1.0.0") ? "10gb" : "500mb";
    return {
        "bootstrap.memory_lock": "true",
        "cluster.name": "clearml",
        "cluster.routing.allocation.node_initial_primaries_recoveries": "500",
        "cluster.routing.allocation.disk.watermark.low": watermark,
        "cluster.routing.allocation.disk.watermark.high": watermark,
        "cluster.routing.allocation.disk.watermark.flood_stage": watermark,
        "discovery.type": "single-node",
        "http.compression_level": "7",
        "node.name": "clearml",
        // The quotes are part of the value from 1.15.0 on, as the vendor's file has it.
        "reindex.remote.whitelist": upTo115 ? "*.*" : "'*.*'",
        "xpack.security.enabled": "false",
        ...(upTo115
            ? { "discovery.zen.minimum_master_nodes": "1", "node.ingest": "true", "xpack.monitoring.enabled": "false" }
            : {}),
        ...(lt(v, "1.16.0")
            ? { ES_JAVA_OPTS: lt(v, "1.2.0") ? "-Xms2g -Xmx2g" : "-Xms2g -Xmx2g -Dlog4j2.formatMsgNoLookups=true" }
            : {}),
        // `${ELASTIC_PASSWORD}` of the vendor's file, unset: security is off.
        ...(!lt(v, "1.2.0") && lt(v, "1.16.0") ? { ELASTIC_PASSWORD: "" } : {}),
    };
}

/** Up to 0.17.x the apiserver reads TRAINS_* variables and keeps its files under trains paths inside the container. */
const trainsInside = (v: string) => lt(v, "1.0.0");

/** Service hosts as the apiserver and async_delete read them. */
function backendEnv(v: string, withDeploymentType = true): Record<string, string> {
    const p = trainsInside(v) ? "TRAINS_" : "CLEARML_";
    return {
        [`${p}ELASTIC_SERVICE_HOST`]: "elasticsearch",
        [`${p}ELASTIC_SERVICE_PORT`]: "9200",
        [`${p}MONGODB_SERVICE_HOST`]: "mongo",
        [`${p}MONGODB_SERVICE_PORT`]: "27017",
        [`${p}REDIS_SERVICE_HOST`]: "redis",
        [`${p}REDIS_SERVICE_PORT`]: "6379",
        ...(withDeploymentType ? { [`${p}SERVER_DEPLOYMENT_TYPE`]: "linux" } : {}),
        ...(!lt(v, "1.2.0") && lt(v, "1.16.0") ? { [`${p}ELASTIC_SERVICE_PASSWORD`]: "" } : {}),
    };
}

/** The apiserver's health endpoint (product-catalog.md: GET :8008/debug.ping, 0.16+), probed with the image's own python. */
export const APISERVER_PING = [
    "CMD",
    "python3",
    "-c",
    "import urllib.request; urllib.request.urlopen('http://localhost:8008/debug.ping', timeout=5)",
];

function services(_root: string, v: string): ServiceSpec[] {
    const n = clearmlNames(v);
    const b = byRange(v, BACKING);
    const app = clearmlAppImage(v);
    const cfgMount = trainsInside(v) ? "/opt/trains/config" : "/opt/clearml/config";
    const logMount = trainsInside(v) ? "/var/log/trains" : "/var/log/clearml";
    const shell = mongoShell(b.mongo);
    const list: ServiceSpec[] = [
        {
            name: n.mongo,
            image: b.mongo,
            role: "data",
            aliases: ["mongo"],
            command: ["--setParameter", mongoSortLimit(b.fcv)],
            mounts: [
                { volume: "mongo_db", target: "/data/db" },
                { volume: "mongo_configdb", target: "/data/configdb" },
            ],
            healthcheck: {
                test: ["CMD", shell, "--quiet", "--eval", "db.adminCommand('ping').ok"],
                interval: "10s",
                timeout: "10s",
                retries: 30,
                startPeriod: "30s",
            },
            wait: true,
            waitTimeout: 600,
        },
        {
            name: n.elastic,
            image: elasticImage(v),
            role: "data",
            aliases: ["elasticsearch"],
            env: elasticEnv(v),
            mounts: [{ volume: "elastic", target: "/usr/share/elasticsearch/data" }],
            ulimits: [
                { name: "memlock", soft: -1, hard: -1 },
                { name: "nofile", soft: 65536, hard: 65536 },
            ],
            healthcheck: {
                test: [
                    "CMD-SHELL",
                    "curl -fs 'http://localhost:9200/_cluster/health?wait_for_status=yellow&timeout=5s' >/dev/null",
                ],
                interval: "10s",
                timeout: "10s",
                retries: 60,
                startPeriod: "60s",
            },
            wait: true,
            waitTimeout: 900,
        },
        {
            name: n.redis,
            image: b.redis,
            role: "data",
            aliases: ["redis"],
            mounts: [{ volume: "redis", target: "/data" }],
            healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "10s", timeout: "5s", retries: 30 },
            wait: true,
            waitTimeout: 300,
        },
        {
            name: n.fileserver,
            image: app,
            role: "app",
            aliases: ["fileserver"],
            command: ["fileserver"],
            env: lt(v, "1.7.0") ? {} : { CLEARML__fileserver__delete__allow_batch: "true" },
            mounts: [
                { volume: "logs", target: logMount },
                { volume: "fileserver", target: "/mnt/fileserver" },
                { volume: "config", target: cfgMount },
            ],
            ports: [{ internal: 8081, external: 8081 }],
        },
        {
            name: n.apiserver,
            image: app,
            role: "app",
            aliases: ["apiserver"],
            command: ["apiserver"],
            env: {
                ...backendEnv(v),
                [`${trainsInside(v) ? "TRAINS" : "CLEARML"}__apiserver__pre_populate__enabled`]: "true",
                [`${trainsInside(v) ? "TRAINS" : "CLEARML"}__apiserver__pre_populate__zip_files`]: `/opt/${trainsInside(v) ? "trains" : "clearml"}/db-pre-populate`,
                [`${trainsInside(v) ? "TRAINS" : "CLEARML"}__apiserver__pre_populate__artifacts_path`]:
                    "/mnt/fileserver",
                ...(lt(v, "1.7.0") ? {} : { CLEARML__services__async_urls_delete__enabled: "true" }),
                ...(lt(v, "1.11.0") ? {} : { CLEARML__services__async_urls_delete__fileserver__url_prefixes: "[]" }),
                ...(lt(v, "1.16.0")
                    ? {}
                    : {
                          CLEARML__secure__credentials__services_agent__user_key: "",
                          CLEARML__secure__credentials__services_agent__user_secret: "",
                      }),
            },
            mounts: [
                { volume: "logs", target: logMount },
                { volume: "config", target: cfgMount },
                { volume: "fileserver", target: "/mnt/fileserver" },
            ],
            ports: [{ internal: 8008, external: 8008 }],
            // The apiserver migrates Mongo/ES (and raises FCV at 1.17, 2.0, 2.3) before it answers: the
            // create waits for that, and a failed migration fails the update here.
            healthcheck: { test: APISERVER_PING, interval: "10s", timeout: "10s", retries: 180, startPeriod: "60s" },
            wait: true,
            waitTimeout: 1800,
        },
        {
            name: n.webserver,
            image: app,
            role: "app",
            aliases: ["webserver"],
            command: ["webserver"],
            ports: [{ internal: 80, external: 8080 }],
        },
    ];
    // async_delete runs from 1.7.0 (the vendor's 1.7.0 compose file).
    if (!lt(v, "1.7.0")) {
        list.push({
            name: n.asyncDelete,
            image: app,
            role: "app",
            aliases: ["async_delete"],
            entrypoint: ["python3", "-m", "jobs.async_urls_delete", "--fileserver-host", "http://fileserver:8081"],
            env: {
                ...backendEnv(v, false),
                PYTHONPATH: "/opt/clearml/apiserver",
                ...(lt(v, "1.8.0") ? {} : { CLEARML__services__async_urls_delete__fileserver__url_prefixes: "[]" }),
            },
            mounts: [
                { volume: "logs", target: logMount },
                ...(lt(v, "1.13.0") ? [] : [{ volume: "config", target: cfgMount }]),
            ],
        });
    }
    list.push({
        // The vendor also mounts the host's docker.sock so services run in containers; upshift declares
        // only data mounts, so tasks run in the agent's own container (*unconfirmed* as enough for every task).
        name: n.agentServices,
        image: `allegroai/${prefix(v)}-agent-services:latest`,
        role: "app",
        optional: "agentServices",
        privileged: true,
        env: {
            [`${prefix(v).toUpperCase()}_API_HOST`]: "http://apiserver:8008",
            [`${prefix(v).toUpperCase()}_WORKER_ID`]: `${prefix(v)}-services`,
            [`${prefix(v).toUpperCase()}_API_ACCESS_KEY`]: { secret: "agentAccessKey", optional: true },
            [`${prefix(v).toUpperCase()}_API_SECRET_KEY`]: { secret: "agentSecretKey", optional: true },
            SHUTDOWN_IF_NO_ACCESS_KEY: "1",
        },
    });
    return list;
}

// ---- Upgrade rules -------------------------------------------------------------------------------

/** Versions at which a ClearML rule stops the old containers and copies data (the first one in range does). */
const DATA_RULES = ["0.17.0", "1.2.0", "1.16.0", "1.17.0", "2.0.0", "2.3.0"];
/** Server versions whose apiserver raises the Mongo FCV itself (product-catalog.md; clearml-server#267). */
const FCV_HOPS = ["1.17.0", "2.0.0", "2.3.0"];
/** The hop through 1.16.x (Elasticsearch 7.17) before Elasticsearch 8, when the data was last written by 7.16 or older. */
const ELASTIC_717_HOP = "1.16.0";
/** The hops a plan runs, in order (the 7.17 one only when needsElastic717Hop). */
const hopsFor = (ctx: RuleContext) => [...(needsElastic717Hop(ctx.from, ctx.to) ? [ELASTIC_717_HOP] : []), ...FCV_HOPS];
const HOPS = [ELASTIC_717_HOP, ...FCV_HOPS];
const firstRuleIn = (ctx: RuleContext, at: string) =>
    !DATA_RULES.some(
        (a) => lt(ctx.from, a) && lt(a, at) && (a !== ELASTIC_717_HOP || needsElastic717Hop(ctx.from, ctx.to)),
    );
const minor = (v: string) => v.split(".").slice(0, 2).join(".");

function stopStep(root: string, from: string, why: string): PlanStep {
    return {
        id: "stop",
        kind: "stop",
        phase: "before-stop",
        reversible: true,
        moves: [],
        description: `stop the ClearML ${from} containers (${why}); they are replaced next`,
        params: {
            containers: services(root, from)
                .map((s) => s.name)
                .join(","),
        },
    };
}

function copyStep(key: string, fromVol: DataVolume, _toVol: DataVolume): PlanStep {
    return {
        id: `copy-${key}`,
        kind: "copy-dir",
        phase: "before-stop",
        reversible: true,
        moves: [key],
        description: `copy ${key} (\${vol:${key}:from}, ${fromVol.formatLabel ?? fromVol.format}) into \${vol:${key}:to} owned by 1000:1000; the original stays untouched for rollback`,
        params: { from: `\${vol:${key}:from}`, to: `\${vol:${key}:to}`, owner: "1000:1000" },
    };
}

/** The hop version used for a rule at `at`: the newest release of that minor not above the target. */
function hopVersion(at: string, to: string): string {
    const same = CLEARML_VERSIONS.filter((v) => minor(v) === minor(at) && cmp(v, to) <= 0);
    return same[same.length - 1] ?? at;
}

export function clearmlCatalog(dataDir: string = CLEARML_DATA_DIR): ProductCatalog {
    const root = dataDir.replace(/\/+$/, "") || "/";
    // Trains Server (0.16.x) kept its tree under /opt/trains (the vendor's 0.16 instructions); an
    // explicit clearml:dataDir wins. The plan keeps the names it adopted, so a later upgrade reuses them.
    const vols = (v: string) => dataVolumesAt(trains(v) && root === CLEARML_DATA_DIR ? "/opt/trains" : root, v);
    const svc = (v: string) => services(root, v);

    /** Data keys whose format differs between two versions: they get a copy, the original is kept. */
    const changedKeys = (from: string, to: string) => {
        const before = vols(from);
        return vols(to)
            .filter((t) => before.find((f) => f.key === t.key)?.format !== t.format)
            .map((t) => ({ key: t.key, from: before.find((f) => f.key === t.key)!, to: t }));
    };

    const hopRule = (at: string) => ({
        id: `server-${minor(at)}-hop`,
        at,
        steps: (ctx: RuleContext): PlanStep[] => {
            if (!hopsFor(ctx).includes(at)) return [];
            const steps: PlanStep[] = [];
            const hop = hopVersion(at, ctx.to);
            // The hop before this one in the same plan, if any; else the data starts at the deployed
            // version's format (or at FCV 4.4 when the 1.2 chain ran first).
            const prevHop = [...hopsFor(ctx)].reverse().find((h) => lt(h, at) && lt(ctx.from, h));
            const before = prevHop ? hopVersion(prevHop, ctx.to) : lt(ctx.from, "1.2.0") ? "1.2.0" : ctx.from;
            const prev = byRange(before, BACKING);
            const next = byRange(hop, BACKING);
            if (!prevHop) {
                if (firstRuleIn(ctx, at))
                    steps.push(
                        stopStep(root, ctx.from, "Mongo, Elasticsearch and Redis data are copied while nothing writes"),
                    );
                // Every hop runs on copies, so the data of the deployed version stays as it is, retained
                // for a rollback by re-attaching it (design.md: a new format gets a new volume/dir).
                // Mongo was already copied by the 1.2 chain when the upgrade starts below 1.2.
                for (const c of changedKeys(ctx.from, ctx.to)) {
                    if (c.key.startsWith("mongo_") && lt(ctx.from, "1.2.0")) continue;
                    steps.push(copyStep(c.key, c.from, c.to));
                }
            }
            if (prevHop || lt(ctx.from, "1.2.0")) {
                // A point of no return after an earlier one in this plan (the restore point covers the
                // first): back up and verify what the previous raise left before raising again.
                const label = `backup-before-${hop}`;
                const keys = ["mongo_db", "mongo_configdb", "elastic", "redis"];
                steps.push(
                    {
                        id: label,
                        kind: "backup",
                        phase: "before-stop",
                        reversible: true,
                        moves: keys,
                        description: `back up Mongo (FCV ${prev.fcv}), Elasticsearch and Redis as ${prevHop ? `ClearML ${before}` : "the Mongo 4.4 chain"} left them, before the ${hop} hop raises FCV to ${next.fcv}`,
                        params: { volumes: keys.map((k) => `\${vol:${k}:to}`).join(","), version: before, label },
                    },
                    {
                        id: `verify-${label}`,
                        kind: "verify-backup",
                        phase: "before-stop",
                        reversible: true,
                        moves: keys,
                        description: `verify the ${label} backup: checksums, then a test restore into a throwaway location`,
                        params: { label, version: before },
                    },
                );
            }
            const es =
                esMajor(hop) !== esMajor(before)
                    ? ` and upgrades the Elasticsearch data ${esMajor(before)} -> ${esMajor(hop)}`
                    : "";
            const n = clearmlNames(hop);
            const what =
                at === ELASTIC_717_HOP
                    ? `Elasticsearch ${next.elastic} rewrites the indices last written by ${prev.elastic}, which Elasticsearch 8 refuses ("upgrade to 7.17 first")`
                    : `its apiserver raises the Mongo featureCompatibilityVersion ${prev.fcv} -> ${next.fcv}${es} (clearml-server#267)`;
            steps.push({
                id: `intermediate-server-${hop}`,
                kind: "intermediate-server",
                phase: "before-stop",
                reversible: false,
                moves: ["mongo_db", "mongo_configdb", "elastic", "redis"],
                description:
                    `run ClearML Server ${hop} (apiserver, mongo ${next.mongo.split(":")[1]}, elasticsearch ${next.elastic}, ${next.redis}) on the copied data until /debug.ping answers, then stop it: ` +
                    `${what} (point of no return)`,
                params: {
                    version: hop,
                    apiserverImage: `\${image:${n.apiserver}:${hop}}`,
                    mongoImage: `\${image:${n.mongo}:${hop}}`,
                    elasticImage: `\${image:${n.elastic}:${hop}}`,
                    redisImage: `\${image:${n.redis}:${hop}}`,
                    mongoDb: "${vol:mongo_db:to}",
                    mongoConfigdb: "${vol:mongo_configdb:to}",
                    elastic: "${vol:elastic:to}",
                    redis: "${vol:redis:to}",
                    config: "${vol:config:to}",
                    fcv: next.fcv,
                },
            });
            return steps;
        },
    });

    return {
        product: "clearml",
        versions: CLEARML_VERSIONS,
        dataVolumes: vols,
        services: svc,
        hostRequirements: () => [
            "vm.max_map_count=262144 for Elasticsearch (sysctl -w vm.max_map_count=262144; persist it in /etc/sysctl.conf)",
        ],
        refusals: [
            {
                // Vendor guide (clearml-mongo44-migration.md): 0.15 or older must first go through the v0.16
                // Elasticsearch 5 -> 7 procedure (elastic_upgrade.py, 8 GB RAM); not automated.
                from: (f) => lt(f, "0.16.0"),
                to: () => true,
                message: (f, t) =>
                    `clearml:version ${t}: ClearML (Trains) Server ${f} is 0.15 or older and keeps Elasticsearch 5 data; ` +
                    `first go through the vendor's "Upgrading Server from v0.15 or Older" Elasticsearch 5 -> 7 migration procedure (clearml_server_es7_migration, elastic_upgrade.py), ` +
                    `then adopt the result with clearml:version 0.16.0 and upgrade from there`,
            },
        ],
        rules: [
            {
                // Trains -> ClearML: the containers are renamed, so the old ones would still run on the
                // data while the new ones start; stop them first.
                id: "trains-to-clearml",
                at: "0.17.0",
                steps: (ctx) =>
                    firstRuleIn(ctx, "0.17.0")
                        ? [stopStep(root, ctx.from, "the trains-* containers become clearml-*")]
                        : [],
            },
            {
                // Mongo 3.6 -> 4.4 (vendor guide "Upgrading Server from v1.1 or Older"): copy data/mongo into
                // data/mongo_4 (the original stays untouched: it is the rollback), chown 1000:1000, then
                // 4.0.27, 4.2.16, 4.4.9 in turn, each setting FCV to its own major. No backup between these
                // raises: no ClearML release runs on FCV 4.0 or 4.2, and the untouched 3.6 original plus the
                // verified restore point already hold the only state worth going back to; a failed hop is
                // rerun on the copy (setting the same FCV again is a no-op).
                id: "mongo-4.4",
                at: "1.2.0",
                steps: (ctx) => [
                    ...(firstRuleIn(ctx, "1.2.0")
                        ? [stopStep(root, ctx.from, "Mongo 3.6 data is copied while nothing writes")]
                        : []),
                    ...["mongo_db", "mongo_configdb"].map((k) =>
                        copyStep(
                            k,
                            vols(ctx.from).find((x) => x.key === k)!,
                            vols("1.2.0").find((x) => x.key === k)!,
                        ),
                    ),
                    ...(
                        [
                            ["mongo:4.0.27", "4.0"],
                            ["mongo:4.2.16", "4.2"],
                            ["mongo:4.4.9", "4.4"],
                        ] as const
                    ).map(([image, fcv]): PlanStep => ({
                        id: `mongo-fcv-${fcv}`,
                        kind: "mongo-fcv",
                        phase: "before-stop",
                        reversible: false,
                        moves: ["mongo_db", "mongo_configdb"],
                        description: `run ${image} on the copy \${vol:mongo_db:to}, setFeatureCompatibilityVersion "${fcv}", check { ok: 1 }, stop it (point of no return for the copy)`,
                        params: {
                            image,
                            fcv,
                            db: "${vol:mongo_db:to}",
                            configdb: "${vol:mongo_configdb:to}",
                            shell: "mongo",
                        },
                    })),
                ],
            },
            ...HOPS.map(hopRule),
        ],
    };
}

/** The catalog at the vendor's default layout (config validation, docs). */
export const clearmlDefaultCatalog = clearmlCatalog();
