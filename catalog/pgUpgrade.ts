// Default pg_upgrade helper image per Postgres image pair (old -> new): an image with both majors'
// binaries and the same C library as the product's images, so the upgraded cluster's indexes
// sort the way the new image's server expects. Overridable like every image (`images`,
// `registryMirror`) and as a whole by `upshift:pgUpgradeImage`. A pair with no helper (a C library
// change, e.g. `postgres:15-alpine` -> `postgres:15`, or no published image) migrates by dump and
// restore, and the plan says so.
//
// Images and tags, as their sources publish them:
// - pgautoupgrade/pgautoupgrade:<new>-alpine (musl; github.com/pgautoupgrade/docker-pgautoupgrade,
//   Dockerfile.alpine: the old majors 9.5 .. new-1 under /usr/local-pg<M>, the target is the
//   official postgres:<new>-alpine base; tags `<new>-alpine` per its Makefile's prod target).
// - tianon/postgres-upgrade:<old>-to-<new> (glibc; github.com/tianon/docker-postgres-upgrade,
//   e.g. 15-to-17/Dockerfile: FROM postgres:17-bookworm plus postgresql-15 from the same PGDG
//   repository, binaries in /usr/lib/postgresql/<M>/bin).
// hooks/postgres/upgrade.ts finds the binaries in either layout.

import { PlanStep } from "./types";

export interface PgImage {
    major: number;
    libc: "musl" | "glibc";
}

/** `postgres:15`, `postgres:15-alpine`, `postgres:15.4-bookworm`, `docker.io/library/postgres:17-alpine3.20`, ... */
export function parsePostgresImage(image: string): PgImage | undefined {
    const m = /(?:^|\/)postgres:(\d+)(?:\.\d+)*(?:-([a-z0-9.]+))?$/.exec(image);
    if (!m) return undefined;
    return { major: Number(m[1]), libc: m[2]?.startsWith("alpine") ? "musl" : "glibc" };
}

/** The default helper for from -> to, or why there is none (then: dump and restore). */
export function defaultPgUpgradeImage(from: string, to: string): { image: string } | { none: string } {
    const a = parsePostgresImage(from),
        b = parsePostgresImage(to);
    if (!a || !b)
        return {
            none: `no default pg_upgrade helper for ${from} -> ${to} (not official postgres images); set upshift:pgUpgradeImage`,
        };
    if (a.major >= b.major) return { none: `${from} -> ${to} is not a major upgrade` };
    if (a.libc !== b.libc)
        return {
            none: `${from} -> ${to} changes the C library (${a.libc} -> ${b.libc}): indexes on text would need a rebuild; dump and restore instead`,
        };
    return {
        image:
            b.libc === "musl"
                ? `pgautoupgrade/pgautoupgrade:${b.major}-alpine`
                : `tianon/postgres-upgrade:${a.major}-to-${b.major}`,
    };
}

/**
 * The helper a step uses (the stack's `upshift:pgUpgradeImage` wins over the pair's default) and
 * the plan's text for it: what `pulumi preview` says the Postgres major change will do.
 */
export function pgUpgradePlan(
    from: string,
    to: string,
    override?: string,
    imageRef: (ref: string) => string = (r) => r,
): { image?: string; text: string } {
    const found = defaultPgUpgradeImage(from, to);
    // A default helper is pulled like every image (config `images`, `registryMirror`).
    const d = override ? { image: override } : "image" in found ? { image: imageRef(found.image) } : found;
    if ("image" in d) {
        return {
            image: d.image,
            text: `pg_upgrade with ${d.image} (--check first; dump and restore instead if it refuses), verified against the old cluster`,
        };
    }
    return { text: `dump and restore (${d.none}), verified against the dump` };
}

export interface PgMigrateStepArgs {
    /** The product's words for it, e.g. `CVAT`. */
    readonly product: string;
    /** The Postgres service (container) and its data volume's key. */
    readonly service: string;
    readonly volumeKey: string;
    /** The Postgres images before and after, as the stack pulls them (RuleContext.imageRef applied). */
    readonly fromImage: string;
    readonly toImage: string;
    /** The product's app containers at the old version: stopped first, replaced next. */
    readonly stop: readonly string[];
    /** Superuser the hooks connect as. */
    readonly user: string;
    /** RuleContext.pgUpgradeImage. */
    readonly override?: string;
    readonly imageRef?: (ref: string) => string;
}

/**
 * The one step of a Postgres major change, for every product on Postgres: `upshift pg-migrate`
 * before the old containers go (phase before-stop), from the running old server onto the new
 * volume, which the engine then attaches to the new server. pg_upgrade when a helper exists for
 * the pair (dump and restore when its --check refuses, decided by the hook and said in its report),
 * else dump and restore; the plan says which. The old volume is only read (pg_upgrade copies it,
 * read-only, into the new volume first): reversible, the rollback re-attaches it.
 */
export function pgMigrateStep(a: PgMigrateStepArgs): PlanStep {
    const how = pgUpgradePlan(a.fromImage, a.toImage, a.override, a.imageRef);
    const major = (image: string) => parsePostgresImage(image)?.major;
    const label = (image: string) => (major(image) ? `Postgres ${major(image)}` : image);
    return {
        id: "pg-migrate",
        kind: "pg-migrate",
        phase: "before-stop",
        reversible: true,
        moves: [a.volumeKey],
        description:
            `stop the ${a.product} app containers, then move ${a.service} from ${label(a.fromImage)} (volume \${vol:${a.volumeKey}:from}, only read) ` +
            `to ${label(a.toImage)} on the new volume \${vol:${a.volumeKey}:to}: ${how.text}; ${a.service} is then replaced on the new volume`,
        params: {
            container: a.service,
            image: a.toImage,
            volume: `\${vol:${a.volumeKey}:to}`,
            user: a.user,
            stop: a.stop.join(","),
            // The statistics come after the app serves again (pgAnalyzeStep), not in the downtime.
            ...(how.image ? { upgradeImage: how.image, deferAnalyze: "true" } : { method: "dump" }),
        },
    };
}

/**
 * The statistics of a cluster made by pg_upgrade (it carries none over), gathered by
 * `upshift pg-analyze` on the new server once the app serves again: the PostgreSQL docs'
 * `vacuumdb --analyze-in-stages` exists so that the cluster "can be used sooner" (pg_upgrade,
 * step "Statistics"). The planner puts it after `start` (plan/index.ts); it does nothing after
 * pg-migrate's dump/restore fallback, which analyzed already. None when the plan is dump/restore.
 */
export function pgAnalyzeStep(a: PgMigrateStepArgs): PlanStep[] {
    if (!pgUpgradePlan(a.fromImage, a.toImage, a.override, a.imageRef).image) return [];
    return [
        {
            id: "pg-analyze",
            kind: "pg-analyze",
            phase: "after-app",
            reversible: true,
            moves: [a.volumeKey],
            description: `gather the planner statistics of the upgraded ${a.service} (vacuumdb --analyze-in-stages) while the ${a.product} app serves again`,
            params: { container: a.service, user: a.user },
        },
    ];
}
