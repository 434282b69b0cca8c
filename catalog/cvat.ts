// CVAT 2.0.0 - 2.73.0 as data: the compose services per release range and the upgrade rules.
// Sources: ../shared/reference/product-catalog.md (cvat-ai/cvat docker-compose.yml per tag) and
// vendor-guides/cvat-upgrade-guide.md. Entries marked *unconfirmed* are inferred, not read from a tag.
import { DataVolume, PlanStep, ProductCatalog, ServiceSpec } from "./types";
import { byRange, lt } from "./versions";

const minors = Array.from({ length: 74 }, (_, i) => `2.${i}.0`);
/** Releases the catalog knows: every 2.y.0 plus the patch releases the catalog names. */
export const CVAT_VERSIONS: readonly string[] = [...minors, "2.10.1", "2.46.1", "2.48.1"]
    .sort((a, b) => (lt(a, b) ? -1 : 1));

/** Postgres image and its data format per release (the 10 -> 15 change at 2.3.0). */
const POSTGRES = [
    ["2.0.0", { image: "postgres:10-alpine", format: "pg10" }],
    ["2.3.0", { image: "postgres:15-alpine", format: "pg15" }],
    ["2.5.0", { image: "postgres:15", format: "pg15" }],
] as const;

/** The on-disk cache: none, keydb (/data), then kvrocks (/var/lib/kvrocks), which cannot read keydb's files. */
const CACHE = [
    ["2.0.0", { inmem: "redis:4.0-alpine", ondisk: undefined }],
    ["2.5.0", { inmem: "redis:7.0-alpine", ondisk: undefined }],
    ["2.7.0", { inmem: undefined, ondisk: { image: "eqalpha/keydb:x86_64_v6.3.2", mount: "/data", format: "keydb" } }],
    ["2.10.0", { inmem: "redis:7.2.3-alpine", ondisk: { image: "eqalpha/keydb:x86_64_v6.3.2", mount: "/data", format: "keydb" } }],
    ["2.10.1", { inmem: "redis:7.2.3-alpine", ondisk: { image: "apache/kvrocks:2.7.0", mount: "/var/lib/kvrocks", format: "kvrocks" } }],
    ["2.40.0", { inmem: "redis:7.2.3-alpine", ondisk: { image: "apache/kvrocks:2.12.1", mount: "/var/lib/kvrocks", format: "kvrocks" } }],
    ["2.46.1", { inmem: "redis:7.2.11-alpine", ondisk: { image: "apache/kvrocks:2.12.1", mount: "/var/lib/kvrocks", format: "kvrocks" } }],
    ["2.63.0", { inmem: "redis:7.2.11-alpine", ondisk: { image: "apache/kvrocks:2.15.0", mount: "/var/lib/kvrocks", format: "kvrocks" } }],
] as const;

const CLICKHOUSE = [
    ["2.0.0", undefined],
    ["2.4.0", "clickhouse/clickhouse-server:22.3-alpine"],
    ["2.10.0", "clickhouse/clickhouse-server:23.11-alpine"],
] as const;

const OPA = [
    ["2.0.0", "openpolicyagent/opa:0.34.2-rootless"],
    ["2.4.0", "openpolicyagent/opa:0.45.0-rootless"],
    ["2.12.0", "openpolicyagent/opa:0.63.0"],
    ["2.55.0", "openpolicyagent/opa:1.12.2"],
] as const;

const TRAEFIK = [
    ["2.0.0", "traefik:v2.4"],
    ["2.3.0", "traefik:v2.9"],
    ["2.8.0", "traefik:v2.10"],
    ["2.32.0", "traefik:v3.3"],
    ["2.50.0", "traefik:v3.6"], // *unconfirmed*: the catalog gives v3.3/v3.6 for 2.46.1-2.54
] as const;

/** Workers per range (*unconfirmed* between the tags the catalog lists; 2.73.0 is from its compose file). */
const WORKERS = [
    ["2.0.0", ["default", "low"]],
    ["2.3.0", ["default", "low", "webhooks"]],
    ["2.5.0", ["default", "low", "webhooks", "quality_reports"]],
    ["2.16.0", ["utils", "import", "export", "annotation", "webhooks", "quality_reports", "analytics_reports"]],
    ["2.30.0", ["utils", "import", "export", "annotation", "webhooks", "quality_reports", "analytics_reports", "chunks"]],
    ["2.35.0", ["utils", "import", "export", "annotation", "webhooks", "quality_reports", "chunks", "consensus"]],
] as const;

const appImage = (kind: "server" | "ui", v: string) =>
    lt(v, "2.2.0") ? `openvino/cvat_${kind}:v${v}` : `cvat/${kind}:v${v}`;

function dataVolumes(v: string): DataVolume[] {
    const pg = byRange(v, POSTGRES);
    const cache = byRange(v, CACHE);
    const vols: DataVolume[] = [
        { key: "cvat_db", type: "volume", defaultName: "cvat_cvat_db", mount: "/var/lib/postgresql/data", owner: "cvat_db", format: pg.format, schema: true },
        { key: "cvat_data", type: "volume", defaultName: "cvat_cvat_data", mount: "/home/django/data", owner: "cvat_server", format: "files", schema: false },
        { key: "cvat_keys", type: "volume", defaultName: "cvat_cvat_keys", mount: "/home/django/keys", owner: "cvat_server", format: "files", schema: false },
        { key: "cvat_logs", type: "volume", defaultName: "cvat_cvat_logs", mount: "/home/django/logs", owner: "cvat_server", format: "files", schema: false },
    ];
    if (!lt(v, "2.10.0")) {
        vols.push({ key: "cvat_inmem_db", type: "volume", defaultName: "cvat_cvat_inmem_db", mount: "/data", owner: "cvat_redis_inmem", format: "redis", schema: false });
    }
    if (cache.ondisk) {
        vols.push({ key: "cvat_cache_db", type: "volume", defaultName: "cvat_cvat_cache_db", mount: cache.ondisk.mount, owner: lt(v, "2.10.0") ? "cvat_redis" : "cvat_redis_ondisk", format: cache.ondisk.format, schema: false });
    }
    if (byRange(v, CLICKHOUSE)) {
        vols.push({ key: "cvat_events_db", type: "volume", defaultName: "cvat_cvat_events_db", mount: "/var/lib/clickhouse/", owner: "cvat_clickhouse", format: "clickhouse", schema: false });
    }
    return vols;
}

function services(v: string): ServiceSpec[] {
    const pg = byRange(v, POSTGRES);
    const cache = byRange(v, CACHE);
    const clickhouse = byRange(v, CLICKHOUSE);
    const split = !lt(v, "2.10.0");
    const redisHost = split ? "cvat_redis_inmem" : "cvat_redis";
    const backendEnv = {
        CVAT_POSTGRES_HOST: "cvat_db",
        CVAT_POSTGRES_USER: "root",
        CVAT_POSTGRES_DBNAME: "cvat",
        CVAT_POSTGRES_PASSWORD: { secret: "dbPassword" },
        DJANGO_SECRET_KEY: { secret: "djangoSecretKey", optional: true },
        CVAT_REDIS_HOST: redisHost,
        CVAT_REDIS_INMEM_HOST: redisHost,
        ...(cache.ondisk ? { CVAT_REDIS_ONDISK_HOST: split ? "cvat_redis_ondisk" : "cvat_redis", CVAT_REDIS_ONDISK_PORT: split && cache.ondisk.format === "kvrocks" ? "6666" : "6379" } : {}),
        ALLOWED_HOSTS: "*",
        ...(clickhouse ? { CLICKHOUSE_HOST: "cvat_clickhouse" } : {}),
        CVAT_OPA_HOST: "cvat_opa",
    };
    const dataMounts = [
        { volume: "cvat_data", target: "/home/django/data" },
        { volume: "cvat_logs", target: "/home/django/logs" },
    ];
    const list: ServiceSpec[] = [
        {
            name: "cvat_db", image: pg.image, role: "data", aliases: ["cvat_db"],
            // CVAT's compose uses trust auth; we set a password (secret) so the DB is not open on the network.
            env: { POSTGRES_USER: "root", POSTGRES_DB: "cvat", POSTGRES_PASSWORD: { secret: "dbPassword" } },
            mounts: [{ volume: "cvat_db", target: "/var/lib/postgresql/data" }],
            // Over TCP: the image's init runs a socket-only temporary server, so a socket check goes green
            // before POSTGRES_DB exists, and the restore after a major change would race the init.
            healthcheck: { test: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U root -d cvat"], interval: "5s", timeout: "5s", retries: 24 },
            wait: true, waitTimeout: 300,
        },
    ];
    if (split) {
        list.push({ name: "cvat_redis_inmem", image: cache.inmem!, role: "data", aliases: ["cvat_redis_inmem"], mounts: [{ volume: "cvat_inmem_db", target: "/data" }] });
    } else if (cache.inmem) {
        list.push({ name: "cvat_redis", image: cache.inmem, role: "data", aliases: ["cvat_redis"] });
    }
    if (cache.ondisk) {
        list.push({
            name: split ? "cvat_redis_ondisk" : "cvat_redis", image: cache.ondisk.image, role: "data",
            aliases: [split ? "cvat_redis_ondisk" : "cvat_redis"],
            mounts: [{ volume: "cvat_cache_db", target: cache.ondisk.mount }],
        });
    }
    if (clickhouse) {
        list.push({ name: "cvat_clickhouse", image: clickhouse, role: "data", aliases: ["clickhouse"], mounts: [{ volume: "cvat_events_db", target: "/var/lib/clickhouse/" }] });
    }
    const health = !lt(v, "2.3.0");
    list.push(
        { name: "cvat_opa", image: byRange(v, OPA), role: "app", aliases: ["cvat_opa"], command: ["run", "--server", "--log-level=error", "--set=decision_logs.console=true", "--set=services.cvat.url=http://cvat_server:8080", "--set=bundles.cvat.service=cvat", "--set=bundles.cvat.resource=/api/auth/rules"] },
        {
            name: "cvat_server", image: appImage("server", v), role: "app", aliases: ["cvat_server"],
            // *unconfirmed* before 2.73.0: the `init run server nginx` entrypoint form.
            ...(lt(v, "2.12.0") ? {} : { command: ["init", "run", "server", "nginx"] }),
            env: { ...backendEnv, NUMPROCS: "2" },
            mounts: [...dataMounts, { volume: "cvat_keys", target: "/home/django/keys" }],
            // Health endpoint since 2.3.0 (catalog: `python manage.py health_check`); create waits for it,
            // so the manage.py steps run only on a healthy, fully migrated server.
            ...(health ? {
                healthcheck: { test: ["CMD", "python3", "manage.py", "health_check"], interval: "15s", timeout: "30s", retries: 40, startPeriod: "60s" },
                wait: true, waitTimeout: 1800,
            } : {}),
        },
        ...byRange(v, WORKERS).map((w): ServiceSpec => ({
            name: `cvat_worker_${w}`, image: appImage("server", v), role: "app",
            command: lt(v, "2.12.0") ? ["-c", `supervisord/worker.${w}.conf`] : ["run", `worker.${w}`],
            env: backendEnv, mounts: dataMounts,
        })),
        { name: "cvat_ui", image: appImage("ui", v), role: "app", aliases: ["cvat_ui"] },
        {
            name: "traefik", image: byRange(v, TRAEFIK), role: "app",
            ports: [{ internal: 8080, external: 8080 }, { internal: 8090, external: 8090 }],
            env: { TRAEFIK_ENTRYPOINTS_web_ADDRESS: ":8080", TRAEFIK_PROVIDERS_DOCKER_EXPOSEDBYDEFAULT: "false" },
        },
    );
    return list;
}

const manage = (id: string, command: string, description: string, reversible: boolean): PlanStep => ({
    id, kind: "manage", phase: "after-app", reversible, moves: ["cvat_db", "cvat_data"], description,
    params: { container: "cvat_server", command: `python manage.py ${command}` },
});

export const cvatCatalog: ProductCatalog = {
    product: "cvat",
    versions: CVAT_VERSIONS,
    dataVolumes,
    services,
    refusals: [{
        from: (f) => lt(f, "2.0.0"),
        to: () => true,
        message: (f, t) => `cvat:version ${t}: no direct upgrade from ${f} (before 2.0.0) is supported (CVAT 2.48.1 release notes); `
            + `upgrade to 2.2.0 with the vendor's "How to upgrade CVAT from v1.7.0 to v2.2.0" guide first, then adopt it with cvat:version 2.2.0`,
    }],
    rules: [
        {
            // Postgres 10 -> 15 (vendor guide "How to upgrade PostgreSQL database base image"): dump from the
            // old server, fresh data dir for the new major, restore. Unlike the guide, the old volume is kept.
            id: "postgres-15", at: "2.3.0",
            steps: ({ from, to }): PlanStep[] => [
                {
                    id: "pg-dump", kind: "pg-dump", phase: "before-stop", reversible: true, moves: ["cvat_db"],
                    description: `stop the CVAT app containers, dump roles and every database from cvat_db (Postgres 10, volume \${vol:cvat_db:from})`,
                    params: { container: "cvat_db", image: `\${image:cvat_db:${to}}`, user: "root", stop: services(from).filter((s) => s.role === "app").map((s) => s.name).join(",") },
                },
                {
                    id: "pg-restore", kind: "pg-restore", phase: "after-data-service", reversible: true, moves: ["cvat_db"],
                    description: "restore the dump into the new Postgres 15 on volume ${vol:cvat_db:to}, then compare databases, tables and row counts",
                    params: { container: "cvat_db", image: `\${image:cvat_db:${to}}`, user: "root" },
                },
            ],
        },
        {
            id: "cleanup-legacy-export-cache", at: "2.26.0",
            steps: () => [manage("cleanuplegacyexportcache", "cleanuplegacyexportcache",
                "run `python manage.py cleanuplegacyexportcache` in cvat_server (2.26.0 moved the export cache; removes only the old cache)", false)],
        },
        {
            id: "init-content-size", at: "2.38.0",
            steps: () => [manage("initcontentsize", "initcontentsize",
                "run `python manage.py initcontentsize` in cvat_server (2.38.0: sizes of existing resources)", true)],
        },
        {
            id: "ffmpeg-8", at: "2.47.0",
            steps: () => [{
                id: "ffmpeg-warning", kind: "warn", phase: "after-app", reversible: true, moves: [],
                description: "2.47.0 moves FFmpeg 4.3.1 -> 8.0: some existing videos need the vendor's compatibility procedure (utils/ffmpeg_compatibility/README.md); check your video tasks",
                params: {},
            }],
        },
    ],
};
