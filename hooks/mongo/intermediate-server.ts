// `upshift intermediate-server`: one hop of ClearML's 1.17 -> 2.0 -> 2.3 chain. Mongo starts only on
// data whose FCV is its own major or one below, and the apiserver raises the FCV itself at start
// (clearml-server#267; product-catalog.md), so each intermediate server version must run on the data
// until its apiserver is healthy before the next one starts. Runs that version's mongo,
// elasticsearch, redis and apiserver on the given data dirs in temporary containers on a private
// network, waits for /debug.ping, optionally checks the FCV, then stops and removes everything
// (always, also on failure). Parameterised by images: written once for every hop.
import { HookCommand, UsageError } from "../core/command";
import { containerState, docker, STOP_GRACE_SECONDS } from "../core/docker";
import { adminEval, parseMongoAnswer } from "./mongo-fcv";
import { HookError, log, parseOptions, runOperation } from "../core/report";
import { pollMs } from "../core/settings";

const USAGE = `usage: upshift intermediate-server --version V --apiserver-image IMG --mongo-image IMG --elastic-image IMG --redis-image IMG
    --mongo-db DIR --mongo-configdb DIR --elastic DIR --redis DIR [--config DIR] [--fcv X.Y] [--shell mongo|mongosh] [--timeout SECONDS]
  Runs ClearML Server V (apiserver + mongo + elasticsearch + redis) on the data dirs until the
  apiserver answers /debug.ping (it migrates the data and raises the Mongo FCV on start), checks the
  FCV reads X.Y when given, then stops and removes the containers. Default timeout 1800 s.`;

const OPTIONS = {
    version: { type: "string" },
    "apiserver-image": { type: "string" },
    "mongo-image": { type: "string" },
    "elastic-image": { type: "string" },
    "redis-image": { type: "string" },
    "mongo-db": { type: "string" },
    "mongo-configdb": { type: "string" },
    elastic: { type: "string" },
    redis: { type: "string" },
    config: { type: "string" },
    fcv: { type: "string" },
    shell: { type: "string" },
    timeout: { type: "string", default: "1800" },
} as const;

/** Elasticsearch as the vendor's compose file runs it (single node, memory locked, 2 GB heap). */
const ELASTIC_ENV = [
    "bootstrap.memory_lock=true",
    "cluster.name=clearml",
    "discovery.type=single-node",
    "node.name=clearml",
    "xpack.security.enabled=false",
    "cluster.routing.allocation.node_initial_primaries_recoveries=500",
    "cluster.routing.allocation.disk.watermark.low=500mb",
    "cluster.routing.allocation.disk.watermark.high=500mb",
    "cluster.routing.allocation.disk.watermark.flood_stage=500mb",
    "http.compression_level=7",
    "ES_JAVA_OPTS=-Xms2g -Xmx2g -Dlog4j2.formatMsgNoLookups=true",
];

const APISERVER_ENV = [
    "CLEARML_ELASTIC_SERVICE_HOST=elasticsearch",
    "CLEARML_ELASTIC_SERVICE_PORT=9200",
    "CLEARML_MONGODB_SERVICE_HOST=mongo",
    "CLEARML_MONGODB_SERVICE_PORT=27017",
    "CLEARML_REDIS_SERVICE_HOST=redis",
    "CLEARML_REDIS_SERVICE_PORT=6379",
    "CLEARML_SERVER_DEPLOYMENT_TYPE=linux",
    // The hop exists to raise the FCV: make sure the switch is on whatever the config dir says.
    "CLEARML__apiserver__mongo__ensure_db_version_on_startup=true",
    // Migration only: no demo data into a fresh DB, no fileserver around.
    "CLEARML__apiserver__pre_populate__enabled=false",
];

export const PING = [
    "python3",
    "-c",
    "import urllib.request; urllib.request.urlopen('http://localhost:8008/debug.ping', timeout=5)",
];

export function hopNames(version: string) {
    const base = `upshift-hop-${version.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
    return {
        network: base,
        mongo: `${base}-mongo`,
        elastic: `${base}-elastic`,
        redis: `${base}-redis`,
        apiserver: `${base}-apiserver`,
    };
}

export const intermediateServer: HookCommand = {
    name: "intermediate-server",
    summary: "run an intermediate ClearML Server version on the data until its apiserver is healthy, then stop it",
    usage: USAGE,
    run(argv) {
        const { values: v } = parseOptions(argv, OPTIONS);
        const need = [
            "version",
            "apiserver-image",
            "mongo-image",
            "elastic-image",
            "redis-image",
            "mongo-db",
            "mongo-configdb",
            "elastic",
            "redis",
        ] as const;
        const missing = need.filter((k) => !v[k]);
        if (missing.length) throw new UsageError(`missing ${missing.map((k) => `--${k}`).join(", ")}`);
        for (const k of ["mongo-db", "mongo-configdb", "elastic", "redis", "config"] as const) {
            if (v[k] && !v[k]!.startsWith("/"))
                throw new UsageError(`--${k} ${v[k]} must be an absolute path on the Docker host`);
        }
        if (v.fcv && !/^\d+\.\d+$/.test(v.fcv)) throw new UsageError(`--fcv ${v.fcv} must be a major.minor like 6.0`);
        const timeoutS = Number(v.timeout);
        if (!Number.isFinite(timeoutS) || timeoutS <= 0)
            throw new UsageError(`--timeout ${v.timeout} must be a number of seconds`);
        const mongoMajor = Number(/:(\d+)/.exec(v["mongo-image"]!)?.[1] ?? "0");
        const shell = v.shell ?? (mongoMajor >= 6 ? "mongosh" : "mongo");
        return runOperation("intermediate-server", () =>
            runHop({
                version: v.version!,
                apiserver: v["apiserver-image"]!,
                mongo: v["mongo-image"]!,
                elastic: v["elastic-image"]!,
                redis: v["redis-image"]!,
                mongoDb: v["mongo-db"]!,
                mongoConfigdb: v["mongo-configdb"]!,
                elasticDir: v.elastic!,
                redisDir: v.redis!,
                config: v.config,
                fcv: v.fcv,
                shell,
                timeoutS,
            }),
        );
    },
};

interface Hop {
    version: string;
    apiserver: string;
    mongo: string;
    elastic: string;
    redis: string;
    mongoDb: string;
    mongoConfigdb: string;
    elasticDir: string;
    redisDir: string;
    config?: string;
    fcv?: string;
    shell: string;
    timeoutS: number;
}

async function runHop(h: Hop): Promise<Record<string, unknown>> {
    const n = hopNames(h.version);
    const order = [n.apiserver, n.redis, n.elastic, n.mongo];
    await cleanup(n, order, false); // leftovers of a killed run hold the data dirs' locks
    const started = Date.now();
    try {
        await docker(["network", "create", "--label", "upshift.helper=true", n.network]);
        const run = (name: string, alias: string, args: string[], image: string, cmd: string[] = []) =>
            docker([
                "run",
                "-d",
                "--name",
                name,
                "--label",
                "upshift.helper=true",
                "--network",
                n.network,
                "--network-alias",
                alias,
                ...args,
                image,
                ...cmd,
            ]);
        log(
            "intermediate-server",
            `starting ClearML Server ${h.version}: ${h.mongo}, ${h.elastic}, ${h.redis}, ${h.apiserver}`,
        );
        await run(
            n.mongo,
            "mongo",
            ["-v", `${h.mongoDb}:/data/db`, "-v", `${h.mongoConfigdb}:/data/configdb`],
            h.mongo,
            ["--setParameter", "internalQueryMaxBlockingSortMemoryUsageBytes=196100200"],
        );
        await run(
            n.elastic,
            "elasticsearch",
            [
                ...ELASTIC_ENV.flatMap((e) => ["-e", e]),
                "--ulimit",
                "memlock=-1:-1",
                "--ulimit",
                "nofile=65536:65536",
                "-v",
                `${h.elasticDir}:/usr/share/elasticsearch/data`,
            ],
            h.elastic,
        );
        await run(n.redis, "redis", ["-v", `${h.redisDir}:/data`], h.redis);
        await run(
            n.apiserver,
            "apiserver",
            [
                ...APISERVER_ENV.flatMap((e) => ["-e", e]),
                ...(h.config ? ["-v", `${h.config}:/opt/clearml/config:ro`] : []),
            ],
            h.apiserver,
            ["apiserver"],
        );
        await waitHealthy(n, order, h);
        log(
            "intermediate-server",
            `ClearML Server ${h.version} apiserver is healthy after ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
        let fcv: string | undefined;
        if (h.fcv) {
            const r = await docker(
                ["exec", n.mongo, ...adminEval(h.shell, "{getParameter: 1, featureCompatibilityVersion: 1}")],
                { check: false, timeoutMs: 60_000 },
            );
            const got = parseMongoAnswer(r.stdout);
            fcv = (got?.featureCompatibilityVersion as { version?: string } | undefined)?.version;
            if (r.code !== 0 || fcv !== h.fcv)
                throw new HookError(
                    `after ClearML Server ${h.version} the Mongo featureCompatibilityVersion is ${fcv ?? "unreadable"}, expected ${h.fcv}`,
                );
            log("intermediate-server", `Mongo featureCompatibilityVersion is ${fcv}`);
        }
        return { version: h.version, healthy: true, fcv, seconds: Math.round((Date.now() - started) / 1000) };
    } finally {
        await cleanup(n, order, true);
    }
}

/** Stops (app first, data last, with a grace period so nothing needs recovery) and removes the hop's containers and network. */
async function cleanup(n: ReturnType<typeof hopNames>, order: string[], graceful: boolean): Promise<void> {
    for (const c of order) {
        if (graceful) await docker(["stop", "--time", String(STOP_GRACE_SECONDS), c], { check: false });
        await docker(["rm", "-f", c], { check: false });
    }
    await docker(["network", "rm", n.network], { check: false });
}

async function waitHealthy(n: ReturnType<typeof hopNames>, order: string[], h: Hop): Promise<void> {
    const until = Date.now() + h.timeoutS * 1000;
    for (;;) {
        for (const c of order) {
            const st = await containerState(c);
            if (!st || st.status !== "running") {
                // e.g. mongo exit 62 on a skipped hop (clearml-server#267), or "Migration failed, aborting. Please restore backup."
                const logs = await docker(["logs", "--tail", "20", c], { check: false });
                throw new HookError(
                    `${c} stopped while ClearML Server ${h.version} was starting (${st?.status ?? "gone"}): ${(logs.stdout + logs.stderr).trim().split("\n").slice(-5).join(" | ")}`,
                );
            }
        }
        const r = await docker(["exec", n.apiserver, ...PING], { check: false, timeoutMs: 30_000 });
        if (r.code === 0) return;
        if (Date.now() > until)
            throw new HookError(
                `the ClearML Server ${h.version} apiserver did not answer /debug.ping within ${h.timeoutS} s`,
            );
        await new Promise((res) => setTimeout(res, pollMs(5000)));
    }
}
