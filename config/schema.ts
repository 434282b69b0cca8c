// The stack's config contract, validated with zod before any resource is registered.
// A product is enabled by its version key (`pulumi config set cvat:version 2.3.0`); its other
// settings sit beside it; secrets live under their own keys and must be Pulumi secrets.
import * as os from "os";
import * as path from "path";
import { z } from "zod";
import { CATALOGS } from "../catalog";
import { Product } from "../catalog/types";
import { isSemver, lt } from "../catalog/versions";

const imageMap = z.record(z.string(), z.string().min(1));
const volumeMap = z.record(z.string(), z.string().min(1));

const common = {
    version: z.string(),
    /** Exact image reference -> replacement (private mirror, air-gapped host, locally loaded tar). */
    images: imageMap.optional(),
    /** Prefix put before every default image (e.g. `mirror.local:5000`); `images` wins over it. */
    registryMirror: z.string().min(1).optional(),
    /** Data volume (or directory) name per key, to adopt an existing install. */
    volumes: volumeMap.optional(),
    /**
     * First run only: true = an existing install is adopted, so its data must be found; false = a
     * fresh install (nothing checked). Default: adopting what `volumes` (and ClearML's `dataDir`,
     * KWDB's installer path) name, and refusing part of an install at the vendor's names.
     */
    adopt: z.boolean().optional(),
};

/** The default backup directory: outside the checkout, under the user's data directory. */
export function defaultBackupDir(env: NodeJS.ProcessEnv = process.env): string {
    return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share"), "upshift", "backups");
}

const expandHome = (p: string) => (p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p);

const stackSchema = z.strictObject({
    /** Docker host: unset = DOCKER_HOST or the local socket; `ssh://user@host` for a remote one. */
    dockerHost: z
        .string()
        .regex(/^(unix|tcp|ssh|npipe):\/\//, "must start with unix://, tcp://, ssh:// or npipe://")
        .optional(),
    /**
     * Where backups and dumps are written (on the machine that runs `pulumi up`). Default outside
     * the checkout, private to the user ($XDG_DATA_HOME/upshift/backups, else ~/.local/share/...);
     * a leading `~/` is the home directory. Issue 12, finding 7.
     */
    backupDir: z.string().min(1).default(defaultBackupDir).transform(expandHome),
    /** Image for short-lived tar/zstd helper containers. */
    helperImage: z.string().min(1).optional(),
    /** pg_upgrade helper (both majors' binaries) for a Postgres major change; default per image pair: catalog/pgUpgrade.ts. */
    pgUpgradeImage: z.string().min(1).optional(),
    /** How steps call the hooks CLI; default: this checkout's bin/upshift. */
    hooksCommand: z.string().min(1).optional(),
    /** Off-site copies; `create: true` makes upshift manage the bucket. */
    s3: z
        .strictObject({
            bucket: z
                .string()
                .regex(
                    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
                    "must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
                ),
            create: z.boolean().default(false),
            prefix: z.string().default(""),
            region: z.string().optional(),
            noncurrentVersionDays: z.number().int().positive().default(30),
        })
        .optional(),
    /** Keep the last N backups per product (the latest restore point is always kept). */
    retention: z.strictObject({ keep: z.number().int().min(1).default(5) }).default({ keep: 5 }),
});

const productSchemas = {
    cvat: z.strictObject({ ...common }),
    clearml: z.strictObject({
        ...common,
        /** Root of the vendor's layout, to adopt an install there. Default: the vendor's `/opt/clearml` (`/opt/trains` for 0.16). */
        dataDir: z.string().startsWith("/", "must be an absolute host path").optional(),
        /** Also run the clearml-agent-services container. */
        agentServices: z.boolean().default(false),
    }),
    kwdb: z.strictObject({
        ...common,
        /** Store path inside the container (the vendor docs disagree: kaiwudb-container vs kwdb-container). */
        storePath: z.string().startsWith("/", "must be an absolute path").default("/kaiwudb/deploy/kaiwudb-container"),
        /** Secure mode: TLS certificates from secrets or generated once with `kwbase cert`. Default: on when kwdb:volumes.kwdb_store is a host path (the installer's layout, whose default it is), else off. */
        secure: z.boolean().optional(),
        ports: z
            .strictObject({
                sql: z.number().int().min(1).max(65535).default(26257),
                http: z.number().int().min(1).max(65535).default(8080),
                brpc: z.number().int().min(1).max(65535).default(27257),
            })
            .default({ sql: 26257, http: 8080, brpc: 27257 }),
    }),
} as const;

/** Secret keys per product: they must be set with `--secret`; `required` ones must be set at all. */
export const SECRET_KEYS: Record<Product, readonly { key: string; required: boolean }[]> = {
    cvat: [
        { key: "dbPassword", required: true },
        { key: "djangoSecretKey", required: false },
    ],
    // clearml-agent-services credentials (made in the web UI); without them the agent shuts down, as the vendor runs it.
    clearml: [
        { key: "agentAccessKey", required: false },
        { key: "agentSecretKey", required: false },
    ],
    // Secure mode authenticates the hooks with the root client certificate (kwdb-certs), so no password.
    kwdb: [
        { key: "caKey", required: false },
        { key: "caCert", required: false },
    ],
};

/** Every config key upshift reads, `ns:key` (documented in docs/config.md and Pulumi.yaml's comment). */
export function configKeys(): string[] {
    const keys = Object.keys(stackSchema.shape).map((k) => `upshift:${k}`);
    for (const p of Object.keys(productSchemas) as Product[]) {
        keys.push(...Object.keys(productSchemas[p].shape).map((k) => `${p}:${k}`));
        keys.push(...SECRET_KEYS[p].map((s) => `${p}:${s.key}`));
    }
    return keys;
}

export type StackConfig = z.infer<typeof stackSchema>;
export type ProductConfig<P extends Product> = z.infer<(typeof productSchemas)[P]>;
export interface UpshiftConfig {
    readonly stack: StackConfig;
    readonly cvat?: ProductConfig<"cvat">;
    readonly clearml?: ProductConfig<"clearml">;
    readonly kwdb?: ProductConfig<"kwdb">;
}

/** Every problem found, each naming the config key and the fix. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid upshift configuration (nothing was changed):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

const PRODUCTS: readonly Product[] = ["cvat", "clearml", "kwdb"];
/** Namespaces that belong to Pulumi or its providers, not to upshift. */
const FOREIGN = new Set(["pulumi", "aws", "docker", "command"]);

const OLDEST_HINT: Record<Product, string> = {
    cvat: "CVAT before 2.0.0 has no direct upgrade: upgrade to 2.2.0 with the vendor's v1.7.0 -> v2.2.0 guide first",
    clearml:
        "ClearML Server 0.15 or older must first go through the vendor's Elasticsearch 5 -> 7 (v0.16) migration procedure",
    kwdb:
        "KWDB before 2.0.4 (1.x, and 2.0.3.2, whose four-part version upshift cannot order) is not deployed by upshift: " +
        "replace a 2.0.3.2 image with 2.0.4 on the same store (a same-major upgrade, KWDB docs) and adopt it with kwdb:version 2.0.4; " +
        "for 1.x deploy 3.x and move the data with EXPORT/IMPORT by hand",
};

/**
 * Validates the raw stack config (Pulumi's flat `ns:key` -> string map). Throws ConfigError listing
 * every problem; returns typed config with secrets left out (read them with requireSecret).
 */
export function validateConfig(raw: Record<string, string>, isSecret: (key: string) => boolean): UpshiftConfig {
    const problems: string[] = [];
    const groups: Record<string, Record<string, unknown>> = {};
    for (const [full, value] of Object.entries(raw)) {
        const i = full.indexOf(":");
        const ns = i < 0 ? "" : full.slice(0, i);
        const key = full.slice(i + 1);
        if (FOREIGN.has(ns)) continue;
        if (ns !== "upshift" && !PRODUCTS.includes(ns as Product)) {
            problems.push(
                `${full}: unknown product "${ns}"; upshift manages ${PRODUCTS.join(", ")} (stack settings go under upshift:). Fix: pulumi config rm ${full}`,
            );
            continue;
        }
        const secretSpec = ns === "upshift" ? undefined : SECRET_KEYS[ns as Product].find((s) => s.key === key);
        if (secretSpec) {
            if (!isSecret(full))
                problems.push(
                    `${full} is set in plaintext but must be a secret. Fix: pulumi config set --secret ${full} <value>`,
                );
            continue;
        }
        (groups[ns] ??= {})[key] = parseValue(value);
    }

    const out: { stack?: StackConfig } & Partial<Record<Product, unknown>> = {};
    const stack = stackSchema.safeParse(groups.upshift ?? {});
    if (stack.success) out.stack = stack.data;
    else problems.push(...zodProblems("upshift", stack.error));

    for (const p of PRODUCTS) {
        const g = groups[p];
        if (!g) continue;
        if (g.version === undefined) {
            problems.push(
                `${p}: settings are present but ${p}:version is not set, so ${p} is not enabled. Fix: pulumi config set ${p}:version <version>, or remove the ${p}: keys`,
            );
            continue;
        }
        const parsed = productSchemas[p].safeParse(g);
        if (!parsed.success) {
            problems.push(...zodProblems(p, parsed.error));
            continue;
        }
        const vProblem = checkVersion(p, parsed.data.version);
        if (vProblem) {
            problems.push(vProblem);
            continue;
        }
        for (const s of SECRET_KEYS[p]) {
            if (s.required && raw[`${p}:${s.key}`] === undefined) {
                problems.push(
                    `${p}:${s.key} is required when ${p}:version is set. Fix: pulumi config set --secret ${p}:${s.key} <value>`,
                );
            }
        }
        out[p] = parsed.data;
    }
    if (problems.length) throw new ConfigError(problems);
    return out as UpshiftConfig;
}

function checkVersion(p: Product, v: string): string | undefined {
    if (CATALOGS[p]?.olderReleases?.includes(v) && !isSemver(v))
        return `${p}:version ${v} is a ${p} release that upshift does not deploy: ${OLDEST_HINT[p]}`;
    if (!isSemver(v))
        return `${p}:version "${v}" is not a version like 2.3.0. Fix: pulumi config set ${p}:version <major.minor.patch>`;
    const catalog = CATALOGS[p];
    if (!catalog)
        return `${p}:version is set but this upshift has no ${p} catalog yet. Fix: pulumi config rm ${p}:version, or update upshift`;
    const list = catalog.versions;
    if (list.includes(v)) return undefined;
    if (list.length && lt(v, list[0])) {
        const older = catalog.olderReleases ?? [];
        const real = older.length === 0 || older.includes(v);
        return `${p}:version ${v} is older than upshift supports (${list[0]})${real ? "" : ` and not a ${p} release (the nearest are ${nearestReleases([...older.filter(isSemver), list[0]], v).join(" and ")})`}: ${OLDEST_HINT[p]}`;
    }
    const near = nearestReleases(list, v);
    return (
        `${p}:version ${v} is not a ${p} release upshift knows (${list[0] ?? "none"} to ${list[list.length - 1] ?? "none"}); ` +
        `the nearest ${near.length > 1 ? `are ${near.join(" and ")}` : `is ${near[0]}`}. Fix: pulumi config set ${p}:version ${near[0]}, or update upshift's catalog`
    );
}

/** The releases just below and just above `v` (one of them at either end of the list), highest first. */
export function nearestReleases(list: readonly string[], v: string): string[] {
    const below = [...list].reverse().find((x) => lt(x, v));
    const above = list.find((x) => lt(v, x));
    return [below, above].filter((x): x is string => x !== undefined);
}

/** Pulumi stores structured values as JSON strings; plain strings stay strings. */
function parseValue(value: string): unknown {
    const t = value.trim();
    // Numbers stay strings at the top level: "2.3" is a (bad) version, not a number.
    if (t.startsWith("{") || t.startsWith("[") || t === "true" || t === "false") {
        try {
            return JSON.parse(t);
        } catch {
            return value;
        }
    }
    return value;
}

function zodProblems(ns: string, error: z.ZodError): string[] {
    return error.issues.map((issue) => {
        if (issue.code === "unrecognized_keys") {
            return issue.keys
                .map((k) => {
                    const at = [...issue.path.map(String), k];
                    return `${ns}:${at.join(".")}: unknown setting. Fix: pulumi config rm ${issue.path.length ? "--path " : ""}${ns}:${at.join(".")} (check the spelling against docs/config.md)`;
                })
                .join("\n  - ");
        }
        const path = issue.path.map(String);
        const key = `${ns}:${path.join(".")}`;
        const setter = path.length > 1 ? `pulumi config set --path ${key} <value>` : `pulumi config set ${key} <value>`;
        return `${key}: ${issue.message}. Fix: ${setter}`;
    });
}
