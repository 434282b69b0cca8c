// CVAT 2.0.0 - 2.73.0 as data: the compose services per release range and the upgrade rules.
// Source: the vendor's docker-compose.yml at every tag (reference/upstream/cvat/<version>.yml; the
// comparison test checks every release against facts extracted from them by tools/compose-facts)
// and its upgrade guide at v2.73.0 (reference/upstream/docs/cvat-upgrade-guide-v2.73.0.md).
import { pgAnalyzeStep, pgMigrateStep } from "./pgUpgrade";
import { DataVolume, PlanStep, ProductCatalog, ServiceSpec } from "./types";
import { byRange, lt } from "./versions";

/**
 * Every release the vendor tagged from 2.0.0 on (cvat-ai/cvat tags; one compose file each in
 * reference/upstream/cvat/), grouped by minor line. Adding a release: run
 * `npm run compose-facts -- check cvat <file> <version>` (docs/catalog.md).
 */
const PATCHES: Readonly<Record<number, number>> = {
    4: 9,
    5: 2,
    6: 2,
    7: 6,
    8: 2,
    9: 2,
    10: 3,
    11: 3,
    12: 1,
    14: 4,
    16: 3,
    19: 1,
    21: 3,
    23: 1,
    26: 1,
    40: 1,
    44: 3,
    46: 1,
    48: 1,
    56: 1,
    59: 1,
};
export const CVAT_VERSIONS: readonly string[] = Array.from({ length: 74 }, (_, minor) => minor).flatMap((minor) =>
    Array.from({ length: (PATCHES[minor] ?? 0) + 1 }, (_, patch) => `2.${minor}.${patch}`),
);

/**
 * The vendor's releases before 2.0.0 and its pre-releases: real CVAT versions that upshift does not
 * deploy (config validation names them as such, not as unknown).
 */
export const CVAT_UNSUPPORTED_RELEASES: readonly string[] = [
    "0.1.0",
    "0.1.1",
    "0.1.2",
    "0.2.0",
    "0.3.0",
    "0.4.0",
    "0.4.1",
    "0.5.0",
    "0.5.1",
    "0.5.2",
    "0.6.0",
    "0.6.1",
    "1.0.0-alpha",
    "1.0.0-beta.1",
    "1.0.0-beta.2",
    "1.0.0",
    "1.1.0-alpha",
    "1.1.0-beta",
    "1.1.0",
    "1.2.0-alpha",
    "1.2.0-beta",
    "1.2.0",
    "1.3.0",
    "1.4.0",
    "1.5.0",
    "1.6.0",
    "1.7.0",
    "2.0.0-alpha",
];

/** A value per release range: each entry holds from its version up to the next entry. `undefined`: not set. */
type Ranges<T> = readonly (readonly [string, T])[];
const at = <T>(v: string, table: Ranges<T>): T => (lt(v, table[0][0]) ? (undefined as T) : byRange(v, table));
/** Environment variables by release range (compose `environment:`); a variable is left out where its value is undefined. */
const envAt = (v: string, table: Readonly<Record<string, Ranges<string | undefined>>>): Record<string, string> =>
    Object.fromEntries(
        Object.entries(table)
            .map(([k, r]) => [k, at(v, r)])
            .filter(([, x]) => x !== undefined),
    ) as Record<string, string>;

const POSTGRES: Ranges<{ image: string; format: string }> = [
    ["2.0.0", { image: "postgres:10-alpine", format: "pg10" }],
    // The vendor stays on Alpine (musl) throughout: never change the C library under existing text indexes.
    ["2.3.0", { image: "postgres:15-alpine", format: "pg15" }],
];

/** The cache container: redis without data, keydb with flash storage (/data), then kvrocks. */
interface Cache {
    readonly image: string;
    readonly command?: readonly string[];
    readonly mount?: string;
    readonly format?: string;
    readonly init?: boolean;
}
const KEYDB_FLASH = [
    "keydb-server",
    "/etc/keydb/keydb.conf",
    "--storage-provider",
    "flash",
    "/data/flash",
    "--maxmemory",
    "5G",
    "--maxmemory-policy",
    "allkeys-lfu",
];
const CACHE: Ranges<Cache> = [
    ["2.0.0", { image: "redis:4.0-alpine" }],
    ["2.4.3", { image: "redis:7.0-alpine" }],
    ["2.6.2", { image: "eqalpha/keydb:x86_64_v6.3.2", command: KEYDB_FLASH, mount: "/data", format: "keydb" }],
    ["2.9.0", { image: "eqalpha/keydb:x86_64_v6.3.4", command: KEYDB_FLASH, mount: "/data", format: "keydb" }],
    ["2.9.2", { image: "eqalpha/keydb:x86_64_v6.3.2", command: KEYDB_FLASH, mount: "/data", format: "keydb" }],
    // 2.10.0 splits it: cvat_redis_inmem (redis) and cvat_redis_ondisk (keydb, then kvrocks from 2.10.1).
    [
        "2.10.1",
        {
            image: "apache/kvrocks:2.7.0",
            command: ["--dir", "/var/lib/kvrocks/data"],
            mount: "/var/lib/kvrocks/data",
            format: "kvrocks",
        },
    ],
    [
        "2.10.3",
        {
            image: "apache/kvrocks:2.7.0",
            command: ["--dir", "/var/lib/kvrocks/data"],
            mount: "/var/lib/kvrocks/data",
            format: "kvrocks",
            init: true,
        },
    ],
    // Same files: the volume root was kvrocks' --dir and now is its default dir.
    [
        "2.40.0",
        {
            image: "apache/kvrocks:2.12.1",
            command: ["--compact-cron", "0 3 * * *"],
            mount: "/var/lib/kvrocks",
            format: "kvrocks",
            init: true,
        },
    ],
    [
        "2.63.0",
        {
            image: "apache/kvrocks:2.15.0",
            command: ["--compact-cron", "0 3 * * *"],
            mount: "/var/lib/kvrocks",
            format: "kvrocks",
            init: true,
        },
    ],
];
const split = (v: string) => !lt(v, "2.10.0");
const ondiskAt = (v: string): Cache | undefined => {
    if (v === "2.10.0")
        return { image: "eqalpha/keydb:x86_64_v6.3.2", command: KEYDB_FLASH, mount: "/data", format: "keydb" };
    return split(v) ? byRange(v, CACHE) : byRange(v, CACHE).format ? byRange(v, CACHE) : undefined;
};
const REDIS_INMEM: Ranges<string> = [
    ["2.10.0", "redis:7.2.3-alpine"],
    ["2.46.1", "redis:7.2.11-alpine"],
];

const CLICKHOUSE: Ranges<string | undefined> = [
    ["2.0.0", undefined],
    ["2.4.0", "clickhouse/clickhouse-server:22.3-alpine"],
    ["2.10.0", "clickhouse/clickhouse-server:23.11-alpine"],
];

const OPA_IMAGE: Ranges<string> = [
    ["2.0.0", "openpolicyagent/opa:0.34.2-rootless"],
    ["2.4.0", "openpolicyagent/opa:0.45.0-rootless"],
    ["2.12.0", "openpolicyagent/opa:0.63.0"],
    ["2.55.0", "openpolicyagent/opa:1.12.2"],
];
/** OPA pulls its policy bundle from the server as `cvat-server` (Django refuses host names with `_`). */
const OPA_BUNDLE = [
    "--set=services.cvat.url=http://cvat-server:8080",
    "--set=bundles.cvat.service=cvat",
    "--set=bundles.cvat.resource=/api/auth/rules",
    "--set=bundles.cvat.polling.min_delay_seconds=5",
    "--set=bundles.cvat.polling.max_delay_seconds=15",
];
const OPA_COMMAND: Ranges<readonly string[]> = [
    // Before 2.3.0 the rules are files of the vendor's checkout (./cvat/apps/iam/rules); see DELIBERATE.
    ["2.0.0", ["run", "--server", "--addr", ":8181", "--set=decision_logs.console=true", "/rules"]],
    ["2.3.0", ["run", "--server", "--set=decision_logs.console=true", ...OPA_BUNDLE]],
    ["2.4.2", ["run", "--server", "--log-level=error", ...OPA_BUNDLE]],
    ["2.55.0", ["run", "--server", "--addr=:8181", "--log-level=error", ...OPA_BUNDLE]],
];

const TRAEFIK_IMAGE: Ranges<string> = [
    ["2.0.0", "traefik:v2.4"],
    ["2.3.0", "traefik:v2.9"],
    ["2.9.0", "traefik:v2.10"],
    ["2.32.0", "traefik:v3.3"],
    ["2.50.0", "traefik:v3.6"],
];
/** The Docker network traefik routes on: upshift's, not compose's `cvat` (DELIBERATE). */
export const CVAT_NETWORK = "upshift_cvat";
const ACCESSLOG_FIELDS = [
    "ClientHost",
    "DownstreamContentSize",
    "DownstreamStatus",
    "Duration",
    "RequestHost",
    "RequestMethod",
    "RequestPath",
    "RequestPort",
    "RequestProtocol",
    "RouterName",
    "StartUTC",
];
const TRAEFIK_ENV: Readonly<Record<string, Ranges<string | undefined>>> = {
    CVAT_HOST: [["2.4.0", "localhost"]],
    DJANGO_LOG_VIEWER_HOST: [["2.4.0", "grafana"]],
    DJANGO_LOG_VIEWER_PORT: [["2.4.0", "3000"]],
    TRAEFIK_ACCESSLOG_FORMAT: [["2.9.0", "json"]],
    TRAEFIK_LOG_FORMAT: [["2.9.0", "json"]],
    TRAEFIK_ENTRYPOINTS_web_ADDRESS: [["2.9.0", ":8080"]],
    TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT: [["2.9.0", "false"]],
    TRAEFIK_PROVIDERS_DOCKER_NETWORK: [["2.9.0", CVAT_NETWORK]],
    TRAEFIK_PROVIDERS_FILE_DIRECTORY: [["2.9.0", "/etc/traefik/rules"]],
    TRAEFIK_ACCESSLOG_FIELDS_DEFAULTMODE: [["2.32.0", "drop"]],
    ...Object.fromEntries(
        ACCESSLOG_FIELDS.map((f) => [`TRAEFIK_ACCESSLOG_FIELDS_NAMES_${f}`, [["2.32.0", "keep"]] as Ranges<string>]),
    ),
};

/** The routes to the API (cvat_server) and the UI, as traefik labels on those containers. */
const SERVER_RULE: Ranges<string> = [
    [
        "2.0.0",
        "Host(`localhost`) && PathPrefix(`/api/`, `/git/`, `/opencv/`, `/static/`, `/admin`, `/documentation/`, `/django-rq`)",
    ],
    [
        "2.6.1",
        "Host(`localhost`) && PathPrefix(`/api/`, `/git/`, `/static/`, `/admin`, `/documentation/`, `/django-rq`)",
    ],
    ["2.7.3", "Host(`localhost`) && PathPrefix(`/api/`, `/static/`, `/admin`, `/documentation/`, `/django-rq`)"],
    [
        "2.32.0",
        "Host(`localhost`) && (PathPrefix(`/api/`) || PathPrefix(`/static/`) || PathPrefix(`/admin`) || PathPrefix(`/django-rq`))",
    ],
];
const serverLabels = (v: string): Record<string, string> => ({
    "traefik.enable": "true",
    "traefik.http.routers.cvat.entrypoints": "web",
    "traefik.http.routers.cvat.rule": byRange(v, SERVER_RULE),
    "traefik.http.services.cvat.loadbalancer.server.port": "8080",
});
const uiLabels = (v: string): Record<string, string> => ({
    "traefik.enable": "true",
    "traefik.http.routers.cvat-ui.entrypoints": "web",
    "traefik.http.routers.cvat-ui.rule": "Host(`localhost`)",
    "traefik.http.services.cvat-ui.loadbalancer.server.port": lt(v, "2.44.0") ? "80" : "8000",
});

/** Environment the backend reads, common to the server and the workers (compose `x-backend-env`). */
const BACKEND_ENV: Readonly<Record<string, Ranges<string | undefined>>> = {
    CVAT_POSTGRES_HOST: [["2.0.0", "cvat_db"]],
    CVAT_REDIS_HOST: [
        ["2.0.0", "cvat_redis"],
        ["2.10.0", undefined],
    ],
    CVAT_REDIS_INMEM_HOST: [["2.10.0", "cvat_redis_inmem"]],
    CVAT_REDIS_INMEM_PORT: [["2.10.0", "6379"]],
    CVAT_REDIS_ONDISK_HOST: [["2.10.0", "cvat_redis_ondisk"]],
    CVAT_REDIS_ONDISK_PORT: [
        ["2.10.0", "6379"],
        ["2.10.1", "6666"],
    ],
    CVAT_LOG_IMPORT_ERRORS: [["2.12.1", "true"]],
    CVAT_ALLOW_STATIC_CACHE: [["2.20.0", "no"]],
    CVAT_DEFAULT_BACKING_CS_ID: [["2.64.0", ""]],
    CVAT_NUM_PROXIES: [["2.66.0", "1"]],
    no_proxy: [
        ["2.0.0", "elasticsearch,kibana,logstash,nuclio,opa,"],
        ["2.4.0", "clickhouse,grafana,vector,nuclio,opa,"],
    ],
};
const CLICKHOUSE_ENV = {
    CLICKHOUSE_HOST: "clickhouse",
    CLICKHOUSE_PORT: "8123",
    CLICKHOUSE_DB: "cvat",
    CLICKHOUSE_USER: "user",
    CLICKHOUSE_PASSWORD: "user",
};
const logServer = (since: string): Readonly<Record<string, Ranges<string | undefined>>> => ({
    DJANGO_LOG_SERVER_HOST: [[since, "vector"]],
    DJANGO_LOG_SERVER_PORT: [
        [since, "80"],
        ["2.44.0", "8282"],
    ],
});
/** The password upshift sets on cvat_db instead of the vendor's trust auth (DELIBERATE). */
const DB_PASSWORD = { CVAT_POSTGRES_PASSWORD: { secret: "dbPassword" } } as const;

interface Worker {
    readonly name: string;
    /** Releases that run it: [first, last]. */
    readonly from: string;
    readonly until?: string;
    /** Queues it serves (`run worker <queues>` from 2.33.0). */
    readonly queues: readonly string[];
    readonly numprocs: string;
    readonly env: Readonly<Record<string, Ranges<string | undefined>>>;
}
/** The worker containers; each is the server image running one set of RQ queues. */
const WORKERS: readonly Worker[] = [
    { name: "cvat_worker_default", from: "2.2.0", until: "2.3.0", queues: ["default"], numprocs: "2", env: {} },
    { name: "cvat_worker_low", from: "2.2.0", until: "2.3.0", queues: ["low"], numprocs: "1", env: {} },
    {
        name: "cvat_worker_webhooks",
        from: "2.3.0",
        queues: ["webhooks"],
        numprocs: "1",
        env: {
            ...logServer("2.4.2"),
            SMOKESCREEN_OPTS: [["2.5.0", ""]],
            CLICKHOUSE_HOST: [
                ["2.8.0", "clickhouse"],
                ["2.14.4", undefined],
            ],
        },
    },
    {
        name: "cvat_worker_import",
        from: "2.4.0",
        queues: ["import"],
        numprocs: "2",
        env: {
            ...logServer("2.4.0"),
            SMOKESCREEN_OPTS: [["2.5.0", ""]],
            CLICKHOUSE_HOST: [
                ["2.8.0", "clickhouse"],
                ["2.14.4", undefined],
            ],
        },
    },
    {
        name: "cvat_worker_export",
        from: "2.4.0",
        queues: ["export"],
        numprocs: "2",
        env: { ...logServer("2.4.2"), SMOKESCREEN_OPTS: [["2.8.0", ""]], ...clickhouseEnv("2.4.0") },
    },
    {
        name: "cvat_worker_annotation",
        from: "2.4.0",
        queues: ["annotation"],
        numprocs: "1",
        env: {
            ...logServer("2.4.2"),
            SMOKESCREEN_OPTS: [["2.8.0", ""]],
            CLICKHOUSE_HOST: [
                ["2.8.0", "clickhouse"],
                ["2.14.4", undefined],
            ],
        },
    },
    {
        name: "cvat_worker_quality_reports",
        from: "2.4.7",
        queues: ["quality_reports"],
        numprocs: "1",
        env: {
            ...logServer("2.4.7"),
            SMOKESCREEN_OPTS: [["2.8.0", ""]],
            CLICKHOUSE_HOST: [
                ["2.8.0", "clickhouse"],
                ["2.14.4", undefined],
            ],
        },
    },
    {
        name: "cvat_worker_analytics_reports",
        from: "2.5.2",
        until: "2.31.0",
        queues: ["analytics_reports"],
        numprocs: "2",
        env: { ...logServer("2.5.2"), SMOKESCREEN_OPTS: [["2.8.0", ""]], ...clickhouseEnv("2.5.2") },
    },
    {
        name: "cvat_worker_chunks",
        from: "2.23.0",
        queues: ["chunks"],
        numprocs: "2",
        env: { ...logServer("2.23.0"), SMOKESCREEN_OPTS: [["2.23.0", ""]] },
    },
    {
        name: "cvat_worker_consensus",
        from: "2.31.0",
        queues: ["consensus"],
        numprocs: "1",
        env: { ...logServer("2.31.0"), SMOKESCREEN_OPTS: [["2.31.0", ""]] },
    },
    // 2.33.0 folds cvat_utils (notifications, cleaning) into a worker.
    {
        name: "cvat_worker_utils",
        from: "2.33.0",
        queues: ["notifications", "cleaning"],
        numprocs: "1",
        env: {
            ...logServer("2.33.0"),
            SMOKESCREEN_OPTS: [["2.33.0", ""]],
            CVAT_REDIS_INMEM_PASSWORD: [["2.33.0", ""]],
        },
    },
];
function clickhouseEnv(since: string): Readonly<Record<string, Ranges<string | undefined>>> {
    return {
        CLICKHOUSE_HOST: [[since, "clickhouse"]],
        ...Object.fromEntries(
            Object.entries(CLICKHOUSE_ENV)
                .filter(([k]) => k !== "CLICKHOUSE_HOST")
                .map(([k, x]) => [k, [["2.14.4", x]] as Ranges<string>]),
        ),
    };
}
/** How a worker is started: supervisord config, then the entrypoint's `run worker.X`, then `run worker <queues>`. */
function workerCommand(v: string, w: Worker): string[] {
    if (lt(v, "2.6.2")) return ["-c", `supervisord/worker.${w.queues.join(".")}.conf`];
    if (lt(v, "2.33.0")) return ["run", `worker.${w.queues.join(".")}`];
    return [
        "run",
        "worker",
        ...w.queues,
        ...(w.name === "cvat_worker_webhooks" && !lt(v, "2.65.0") ? ["--with-scheduler"] : []),
    ];
}

const SERVER_ENV: Readonly<Record<string, Ranges<string | undefined>>> = {
    ADAPTIVE_AUTO_ANNOTATION: [["2.0.0", "false"]],
    ALLOWED_HOSTS: [["2.0.0", "*"]],
    DJANGO_MODWSGI_EXTRA_ARGS: [["2.0.0", ""]],
    NUMPROCS: [
        ["2.2.0", "1"],
        ["2.4.6", "2"],
    ],
    IAM_OPA_BUNDLE: [
        ["2.3.0", "1"],
        ["2.12.1", undefined],
    ],
    SOCIAL_AUTH_GITHUB_CLIENT_ID: [
        ["2.3.0", ""],
        ["2.4.0", undefined],
    ],
    SOCIAL_AUTH_GITHUB_CLIENT_SECRET: [
        ["2.3.0", ""],
        ["2.4.0", undefined],
    ],
    SOCIAL_AUTH_GOOGLE_CLIENT_ID: [
        ["2.3.0", ""],
        ["2.4.0", undefined],
    ],
    SOCIAL_AUTH_GOOGLE_CLIENT_SECRET: [
        ["2.3.0", ""],
        ["2.4.0", undefined],
    ],
    USE_ALLAUTH_SOCIAL_ACCOUNTS: [
        ["2.3.0", ""],
        ["2.4.0", undefined],
    ],
    CVAT_ANALYTICS: [["2.4.0", "1"]],
    CVAT_BASE_URL: [["2.4.0", ""]],
    ...clickhouseEnv("2.4.0"),
    ...logServer("2.4.0"),
    SMOKESCREEN_OPTS: [["2.5.0", ""]],
    ONE_RUNNING_JOB_IN_QUEUE_PER_USER: [["2.8.1", ""]],
};
/** cvat_utils (2.2.0-2.32.0): notifications and cleaning before they became a worker. */
const UTILS_ENV: Readonly<Record<string, Ranges<string | undefined>>> = {
    CVAT_REDIS_PASSWORD: [
        ["2.4.0", ""],
        ["2.10.0", undefined],
    ],
    CVAT_REDIS_INMEM_PASSWORD: [["2.10.0", ""]],
    CLICKHOUSE_HOST: [
        ["2.4.2", "clickhouse"],
        ["2.14.4", undefined],
    ],
    DJANGO_LOG_SERVER_HOST: [["2.4.2", "vector"]],
    DJANGO_LOG_SERVER_PORT: [["2.4.2", "80"]],
    NUMPROCS: [["2.4.6", "1"]],
    SMOKESCREEN_OPTS: [["2.8.0", ""]],
};
const SERVER_COMMAND: Ranges<{ command?: readonly string[]; entrypoint?: readonly string[] }> = [
    ["2.0.0", {}],
    ["2.2.0", { command: ["-c", "supervisord/server.conf"] }],
    ["2.4.6", { entrypoint: ["/home/django/backend_entrypoint.sh"] }],
    ["2.6.2", { command: ["init", "run", "server"] }],
    ["2.66.0", { command: ["init", "run", "server", "nginx"] }],
];

/** The server container: `cvat` before 2.2.0, `cvat_server` after (steps target it by this name). */
export const cvatServerName = (v: string): string => (lt(v, "2.2.0") ? "cvat" : "cvat_server");
/** The vendor's file leaves 2.0.0/2.1.0 images untagged (latest at the time); upshift pins the release (DELIBERATE). */
const appImage = (kind: "server" | "ui", v: string) =>
    lt(v, "2.2.0") ? `openvino/cvat_${kind}:v${v}` : `cvat/${kind}:v${v}`;

const DATA_MOUNTS = ["cvat_data:/home/django/data", "cvat_keys:/home/django/keys", "cvat_logs:/home/django/logs"].map(
    (m) => ({ volume: m.split(":")[0], target: m.split(":")[1] }),
);

function dataVolumes(v: string): DataVolume[] {
    const pg = byRange(v, POSTGRES);
    const server = cvatServerName(v);
    const vols: DataVolume[] = [
        {
            key: "cvat_db",
            type: "volume",
            defaultName: "cvat_cvat_db",
            mount: "/var/lib/postgresql/data",
            owner: "cvat_db",
            format: pg.format,
            schema: true,
            vendorData: true,
        },
        {
            key: "cvat_data",
            type: "volume",
            defaultName: "cvat_cvat_data",
            mount: "/home/django/data",
            owner: server,
            format: "files",
            schema: false,
        },
        {
            key: "cvat_keys",
            type: "volume",
            defaultName: "cvat_cvat_keys",
            mount: "/home/django/keys",
            owner: server,
            format: "files",
            schema: false,
        },
        {
            key: "cvat_logs",
            type: "volume",
            defaultName: "cvat_cvat_logs",
            mount: "/home/django/logs",
            owner: server,
            format: "files",
            schema: false,
        },
    ];
    if (split(v)) {
        vols.push({
            key: "cvat_inmem_db",
            type: "volume",
            defaultName: "cvat_cvat_inmem_db",
            mount: "/data",
            owner: "cvat_redis_inmem",
            format: "redis",
            schema: false,
        });
    }
    const ondisk = ondiskAt(v);
    if (ondisk?.mount) {
        vols.push({
            key: "cvat_cache_db",
            type: "volume",
            defaultName: "cvat_cvat_cache_db",
            mount: ondisk.mount,
            owner: split(v) ? "cvat_redis_ondisk" : "cvat_redis",
            format: ondisk.format!,
            schema: false,
        });
    }
    if (byRange(v, CLICKHOUSE)) {
        vols.push({
            key: "cvat_events_db",
            type: "volume",
            defaultName: "cvat_cvat_events_db",
            mount: "/var/lib/clickhouse/",
            owner: "cvat_clickhouse",
            format: "clickhouse",
            schema: false,
        });
    }
    return vols;
}

function services(v: string): ServiceSpec[] {
    const pg = byRange(v, POSTGRES);
    const clickhouse = byRange(v, CLICKHOUSE);
    const backend = envAt(v, BACKEND_ENV);
    const list: ServiceSpec[] = [
        {
            name: "cvat_db",
            image: pg.image,
            role: "data",
            // The vendor uses trust auth; upshift sets a password (a secret) instead (DELIBERATE).
            env: { POSTGRES_USER: "root", POSTGRES_DB: "cvat", POSTGRES_PASSWORD: { secret: "dbPassword" } },
            mounts: [{ volume: "cvat_db", target: "/var/lib/postgresql/data" }],
            // Over TCP: the image's init runs a socket-only temporary server, so a socket check goes green
            // before POSTGRES_DB exists, and the restore after a major change would race the init.
            healthcheck: {
                test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U root -d cvat"],
                interval: "5s",
                timeout: "5s",
                retries: 24,
            },
            wait: true,
            waitTimeout: 300,
        },
    ];
    if (split(v)) {
        list.push({
            name: "cvat_redis_inmem",
            image: byRange(v, REDIS_INMEM),
            role: "data",
            command: ["redis-server", "--save", "60", "100", "--appendonly", "yes"],
            mounts: [{ volume: "cvat_inmem_db", target: "/data" }],
        });
    }
    const cache = split(v) ? ondiskAt(v)! : byRange(v, CACHE);
    list.push({
        name: split(v) ? "cvat_redis_ondisk" : "cvat_redis",
        image: cache.image,
        role: "data",
        ...(cache.command ? { command: cache.command } : {}),
        ...(cache.mount ? { mounts: [{ volume: "cvat_cache_db", target: cache.mount }] } : {}),
        ...(cache.init ? { init: true } : {}),
    });
    if (clickhouse) {
        list.push({
            name: "cvat_clickhouse",
            image: clickhouse,
            role: "data",
            aliases: ["clickhouse"],
            env: lt(v, "2.14.4")
                ? { CLICKHOUSE_DB: "cvat", CLICKHOUSE_USER: "user", CLICKHOUSE_PASSWORD: "user" }
                : CLICKHOUSE_ENV,
            mounts: [{ volume: "cvat_events_db", target: "/var/lib/clickhouse/" }],
        });
    }
    const health = !lt(v, "2.3.0");
    const server = cvatServerName(v);
    list.push(
        {
            name: "cvat_opa",
            image: byRange(v, OPA_IMAGE),
            role: "app",
            // The server reaches OPA as `opa` (hard-coded in CVAT's settings).
            aliases: ["opa"],
            command: byRange(v, OPA_COMMAND),
            ...(lt(v, "2.3.0") ? { ports: [{ internal: 8181, external: 8181 }] } : {}),
        },
        {
            name: server,
            image: appImage("server", v),
            role: "app",
            ...(health ? { aliases: ["cvat-server"] } : {}),
            ...byRange(v, SERVER_COMMAND),
            env: {
                ...backend,
                ...envAt(v, SERVER_ENV),
                ...DB_PASSWORD,
                DJANGO_SECRET_KEY: { secret: "djangoSecretKey", optional: true },
            },
            labels: serverLabels(v),
            mounts: DATA_MOUNTS,
            // A health check the vendor's file lacks (DELIBERATE): create waits for it, so the
            // manage.py steps run only on a healthy, fully migrated server.
            ...(health
                ? {
                      healthcheck: {
                          test: ["CMD", "python3", "manage.py", "health_check"],
                          interval: "15s",
                          timeout: "30s",
                          retries: 40,
                          startPeriod: "60s",
                      },
                      wait: true,
                      waitTimeout: 1800,
                  }
                : {}),
        },
    );
    if (!lt(v, "2.2.0") && lt(v, "2.33.0")) {
        list.push({
            name: "cvat_utils",
            image: appImage("server", v),
            role: "app",
            command: lt(v, "2.6.2") ? ["-c", "supervisord/utils.conf"] : ["run", "utils"],
            env: { ...backend, ...envAt(v, UTILS_ENV), ...DB_PASSWORD },
            mounts: DATA_MOUNTS,
        });
    }
    for (const w of WORKERS.filter((x) => !lt(v, x.from) && (!x.until || !lt(x.until, v)))) {
        list.push({
            name: w.name,
            image: appImage("server", v),
            role: "app",
            command: workerCommand(v, w),
            env: { ...backend, NUMPROCS: w.numprocs, ...envAt(v, w.env), ...DB_PASSWORD },
            mounts: DATA_MOUNTS,
        });
    }
    list.push(
        { name: "cvat_ui", image: appImage("ui", v), role: "app", labels: uiLabels(v) },
        {
            name: "traefik",
            image: byRange(v, TRAEFIK_IMAGE),
            role: "app",
            ...(lt(v, "2.9.0")
                ? {
                      command: [
                          "--providers.docker.exposedByDefault=false",
                          `--providers.docker.network=${CVAT_NETWORK}`,
                          "--entryPoints.web.address=:8080",
                          "--providers.file.directory=/etc/traefik/rules",
                      ],
                  }
                : {}),
            env: envAt(v, TRAEFIK_ENV),
            // traefik reads the routing labels through the Docker socket.
            binds: [{ source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
            ports: [
                { internal: 8080, external: 8080 },
                { internal: 8090, external: 8090 },
            ],
        },
    );
    return list;
}

const manage = (id: string, command: string, description: string, reversible: boolean): PlanStep => ({
    id,
    kind: "manage",
    phase: "after-app",
    reversible,
    moves: ["cvat_db", "cvat_data"],
    description,
    params: { container: "cvat_server", command: `python manage.py ${command}` },
});

export const cvatCatalog: ProductCatalog = {
    product: "cvat",
    versions: CVAT_VERSIONS,
    olderReleases: CVAT_UNSUPPORTED_RELEASES,
    dataVolumes,
    services,
    refusals: [
        {
            from: (f) => lt(f, "2.0.0"),
            to: () => true,
            message: (f, t) =>
                `cvat:version ${t}: no direct upgrade from ${f} (before 2.0.0) is supported (CVAT 2.48.1 release notes); ` +
                `upgrade to 2.2.0 with the vendor's "How to upgrade CVAT from v1.7.0 to v2.2.0" guide first, then adopt it with cvat:version 2.2.0`,
        },
    ],
    rules: [
        {
            // Postgres 10 -> 15 (vendor guide "How to upgrade PostgreSQL database base image": dump from the
            // old server, fresh data dir for the new major, restore). upshift runs pg_upgrade where a
            // helper exists for the pair, dump and restore otherwise; unlike the guide, the old volume is kept.
            id: "postgres-15",
            at: "2.3.0",
            steps: ({ from, to, imageRef, pgUpgradeImage }): PlanStep[] => {
                const pg = {
                    product: "CVAT",
                    service: "cvat_db",
                    volumeKey: "cvat_db",
                    user: "root",
                    fromImage: imageRef(byRange(from, POSTGRES).image),
                    toImage: imageRef(byRange(to, POSTGRES).image),
                    stop: services(from)
                        .filter((s) => s.role === "app")
                        .map((s) => s.name),
                    override: pgUpgradeImage,
                    imageRef,
                };
                return [pgMigrateStep(pg), ...pgAnalyzeStep(pg)];
            },
        },
        {
            // Upgrade guide, "Upgrade CVAT after v2.26.0".
            id: "cleanup-legacy-export-cache",
            at: "2.26.0",
            steps: () => [
                manage(
                    "cleanuplegacyexportcache",
                    "cleanuplegacyexportcache",
                    "run `python manage.py cleanuplegacyexportcache` in cvat_server (2.26.0 moved the export cache; removes only the old cache)",
                    false,
                ),
            ],
        },
        {
            id: "init-content-size",
            at: "2.38.0",
            steps: () => [
                manage(
                    "initcontentsize",
                    "initcontentsize",
                    "run `python manage.py initcontentsize` in cvat_server (2.38.0: sizes of existing resources)",
                    true,
                ),
            ],
        },
        {
            // Upgrade guide, "Upgrade to v2.72.0 or later": the app's source moved from /home/django to
            // /opt/cvat; bind mounts into the source tree need new container paths (data dirs stay).
            id: "app-code-in-opt-cvat",
            at: "2.72.0",
            steps: () => [
                {
                    id: "opt-cvat-warning",
                    kind: "warn",
                    phase: "after-app",
                    reversible: true,
                    moves: [],
                    description:
                        "2.72.0 moves CVAT's application code from /home/django to /opt/cvat: a file you bind-mount into the source tree " +
                        "(custom settings, logo) must move to /opt/cvat/... (the data dirs and /home/django/auth_config.yml stay)",
                    params: {},
                },
            ],
        },
        {
            // Upgrade guide, "How to upgrade CVAT from v2.46.0 to v2.47.0".
            id: "ffmpeg-8",
            at: "2.47.0",
            steps: () => [
                {
                    id: "ffmpeg-warning",
                    kind: "warn",
                    phase: "after-app",
                    reversible: true,
                    moves: [],
                    description:
                        "2.47.0 moves FFmpeg 4.3.1 -> 8.0: some existing videos need the vendor's compatibility procedure (utils/ffmpeg_compatibility/README.md); check your video tasks",
                    params: {},
                },
            ],
        },
    ],
};
