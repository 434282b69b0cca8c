// The planner: (what is deployed, the configured version, the catalog) -> ordered steps.
// Pure: imports nothing from Pulumi, touches nothing. Components turn a plan into resources.
import { DataVolume, PlanStep, ProductCatalog } from "../catalog/types";
import { cmp, lt } from "../catalog/versions";

/** A data volume or directory the stack has used, by `${key}@${format}`. */
export interface KnownVolume {
    readonly name: string;
    /** The last product version that ran on it (its schema is at most that version's). */
    readonly lastVersion: string;
}

/** A verified backup taken at a version, usable to roll back to that version. */
export interface RestorePoint {
    readonly version: string;
    readonly id: string;
}

/** One upgrade, rollback or install as the stack recorded it (no secret in it). */
export interface AuditEntry {
    readonly kind: PlanKind;
    readonly from?: string;
    readonly to: string;
    /** Step ids in the order they ran. */
    readonly steps: readonly string[];
    /** Backups taken by this change (`<product>/<id>`). */
    readonly backups: readonly string[];
    /** Archives of the restore point with their sha256, from the backup step's own report. */
    readonly archives?: readonly { readonly name: string; readonly sha256: string; readonly bytes: number }[];
    /** When the restore point was taken (its manifest's createdAt). */
    readonly at?: string;
}

/** What this stack deployed last time, per product (read back from its own `deployed` output). */
export interface DeployedProduct {
    readonly version: string;
    readonly previous?: string;
    readonly volumes: Readonly<Record<string, KnownVolume>>;
    readonly restorePoints?: readonly RestorePoint[];
    /** The audit record: the latest changes, oldest first. */
    readonly history?: readonly AuditEntry[];
    /**
     * The step Commands of the change that led here, as declared (no secret: command lines only).
     * Runs that change nothing declare them again with the same inputs, so the engine keeps their
     * records and `pulumi preview --expect-no-changes` passes right after a change.
     */
    readonly lastChange?: LastChange;
    /**
     * The number of the last change attempt this stack started. Every upgrade or rollback attempt
     * gets the next number, which is part of the id of each backup it takes, so a later attempt
     * never mistakes an earlier attempt's backup for its own (issue 12, finding 1).
     */
    readonly attempts?: number;
    /**
     * The first run's check that the adopted data was there (`adopt-check`), as declared: later runs
     * declare it again with the same inputs (it never runs again, and never shows as a change).
     */
    readonly adoptCheck?: { readonly create: string; readonly version: string };
}

export interface LastChange {
    readonly from: string;
    readonly to: string;
    /** The attempt number of that change (undefined in records written before attempts were numbered). */
    readonly attempt?: number;
    readonly steps: readonly { readonly id: string; readonly kind: PlanStep["kind"]; readonly create: string }[];
}

export type PlanKind = "install" | "unchanged" | "upgrade" | "rollback";

export interface PlannedVolume {
    readonly key: string;
    readonly type: DataVolume["type"];
    readonly format: string;
    /** Docker volume name or host directory used at the target version. */
    readonly name: string;
    /** Name used before this change (undefined on install). */
    readonly fromName?: string;
    /** True when this run creates it (a new format, or a fresh install). */
    readonly isNew: boolean;
    readonly mount: string;
    readonly owner: string;
}

export interface Plan {
    readonly product: ProductCatalog["product"];
    readonly kind: PlanKind;
    readonly from?: string;
    readonly to: string;
    /** The attempt number of an upgrade or rollback: part of every backup id it uses (`attemptId`). */
    readonly attempt?: number;
    readonly steps: readonly PlanStep[];
    readonly volumes: readonly PlannedVolume[];
    /**
     * The deployed version's data volumes by the names they have now (what `${vol:KEY:from}` names):
     * also those the target no longer has (a rollback past the version that added one).
     */
    readonly fromVolumes?: readonly {
        readonly key: string;
        readonly type: DataVolume["type"];
        readonly name: string;
    }[];
    /** What the operator must know (data not carried back on rollback, manual checks...). */
    readonly notes: readonly string[];
    /** The deployed record after this plan is applied. */
    readonly next: DeployedProduct;
}

/** A change the catalog does not allow; the message says why and what to do instead. */
export class PlanRefused extends Error {}

export interface PlanInput {
    readonly catalog: ProductCatalog;
    readonly to: string;
    readonly deployed?: DeployedProduct;
    /** Config overrides of volume names/dirs by key (adopting an existing install). */
    readonly volumeNames?: Readonly<Record<string, string>>;
    /** What happens to a verified restore point: off-site copy, retention. Default: neither. */
    readonly backupPolicy?: BackupPolicy;
    /** Backups of earlier attempts found in the product's backup directory (see `attemptDirs`). */
    readonly attemptsFound?: readonly FoundAttempt[];
    /** The new volumes each earlier attempt of this stack declared (its `attemptVolumesFile`). */
    readonly attemptVolumes?: readonly AttemptVolumes[];
    /** A vendor image reference as the stack pulls it (config `images`, `registryMirror`). Default: as is. */
    readonly imageRef?: (ref: string) => string;
    /** The stack's `upshift:pgUpgradeImage`. Default: the helper per image pair (catalog/pgUpgrade.ts). */
    readonly pgUpgradeImage?: string;
}

/** An attempt's backup or dump directory found on disk: `<from>-to-<to>-a<n>-<label>[.partial]`. */
export interface FoundAttempt {
    readonly from: string;
    readonly to: string;
    readonly n: number;
}

const ATTEMPT_DIR = /^(.+?)-to-(.+?)-a(\d+)-[^/]+$/;

/** The attempts that the directory names under `<backupDir>/<product>` show (other names are ignored). */
export function attemptDirs(names: readonly string[]): FoundAttempt[] {
    return names.flatMap((name) => {
        const m = ATTEMPT_DIR.exec(name);
        return m ? [{ from: m[1], to: m[2], n: Number(m[3]) }] : [];
    });
}

/**
 * The attempt number of a change from `from` to `to`. A failed `pulumi up` leaves the deployed
 * record as it was, so its rerun computes the same number and finds its own backups: the highest
 * number on disk, above the record's, taken by this very change. Anything else (a first try, or
 * backups of an attempt that was abandoned or of another change) gets a number above all of them.
 */
export function attemptNumber(
    deployed: DeployedProduct | undefined,
    found: readonly FoundAttempt[],
    from: string,
    to: string,
): number {
    const recorded = deployed?.attempts ?? 0;
    const top = Math.max(recorded, ...found.map((f) => f.n));
    const atTop = found.filter((f) => f.n === top);
    if (top > recorded && atTop.length > 0 && atTop.every((f) => f.from === from && f.to === to)) return top;
    return top + 1;
}

/** The highest attempt number the record or the disk knows: a run that changes nothing records it. */
function attemptsSeen(deployed: DeployedProduct | undefined, found: readonly FoundAttempt[]): number {
    return Math.max(deployed?.attempts ?? 0, ...found.map((f) => f.n));
}

/**
 * The new volumes an upgrade or rollback attempt declares, written by `pulumi up` before the engine
 * creates any of them (components/product.ts). A failed update saves no stack output (the Node SDK
 * sends the outputs only once all of them resolve, and `deployed` waits for every step), so the
 * deployed record never learns of a volume the engine created for a failed attempt; this file is
 * how a later run knows to keep declaring it (an undeclared protected volume fails the update).
 */
export interface AttemptVolumes {
    readonly from: string;
    readonly to: string;
    readonly n: number;
    readonly volumes: readonly { readonly key: string; readonly format: string; readonly name: string }[];
}

/** Its file, under `<backupDir>/<product>`: named like an attempt's backup, so it counts as the attempt's (`attemptDirs`). */
export const attemptVolumesFile = (from: string, to: string, n: number) => attemptId(from, to, n, "volumes.json");

/**
 * Volumes of earlier attempts that the record does not list, as archived record entries
 * (`key@format~a<n>`): an attempt abandoned by a change of version left them, possibly holding a
 * half-made or unverified copy. They stay declared, protected and retained, and a later attempt
 * never writes into one: as names on record, they are taken (resolveVolumes picks a fresh one).
 */
function abandonedVolumes(
    ledgers: readonly AttemptVolumes[],
    deployed: DeployedProduct,
    from: string,
    to: string,
    attempt: number | undefined,
): Record<string, KnownVolume> {
    const onRecord = new Set(Object.values(deployed.volumes).map((v) => v.name));
    const out: Record<string, KnownVolume> = {};
    for (const l of ledgers) {
        if (l.from === from && l.to === to && l.n === attempt) continue; // this very attempt, rerun
        for (const v of l.volumes) {
            if (onRecord.has(v.name)) continue;
            onRecord.add(v.name);
            let key = `${v.key}@${v.format}~a${l.n}`;
            for (let i = 2; deployed.volumes[key] || out[key]; i++) key = `${v.key}@${v.format}~a${l.n}~${i}`;
            out[key] = { name: v.name, lastVersion: l.to };
        }
    }
    return out;
}

/** The id of an attempt's backup or dump: `<from>-to-<to>-a<n>-<label>`. */
export const attemptId = (from: string, to: string, attempt: number, label: string) =>
    `${from}-to-${to}-a${attempt}-${label}`;

export interface BackupPolicy {
    /** Push each verified backup to S3. */
    readonly offsite: boolean;
    /** Keep the last N backups per product (the latest restore point always); prune after the verify. */
    readonly keep?: number;
}

const volKey = (v: { key: string; format: string }) => `${v.key}@${v.format}`;

export function planChange(original: PlanInput): Plan {
    const { catalog, to } = original;
    const product = catalog.product;
    if (!catalog.versions.includes(to)) {
        throw new PlanRefused(
            `${product}:version ${to} is not in the ${product} catalog; known: ${catalog.versions[0]} to ${catalog.versions[catalog.versions.length - 1]}`,
        );
    }
    const from = original.deployed?.version;
    if (from !== undefined && from !== to) {
        for (const r of catalog.refusals) {
            if (r.from(from) && r.to(to)) throw new PlanRefused(r.message(from, to));
        }
    }
    // Earlier attempts' volumes that the record does not know join it (archived entries).
    const attempt =
        from !== undefined && from !== to
            ? attemptNumber(original.deployed, original.attemptsFound ?? [], from, to)
            : undefined;
    const abandoned = original.deployed
        ? abandonedVolumes(original.attemptVolumes ?? [], original.deployed, from!, to, attempt)
        : {};
    const input: PlanInput = Object.keys(abandoned).length
        ? { ...original, deployed: { ...original.deployed!, volumes: { ...original.deployed!.volumes, ...abandoned } } }
        : original;
    const volumes = resolveVolumes(input);
    const next = nextRecord(input, volumes);

    const fromVolumes = original.deployed
        ? catalog.dataVolumes(original.deployed.version).map((v) => ({
              key: v.key,
              type: v.type,
              name: original.deployed!.volumes[volKey(v)]?.name ?? original.volumeNames?.[v.key] ?? v.defaultName,
          }))
        : undefined;
    const plan = {
        ...planFor(input, from, volumes, next, Object.keys(abandoned).length > 0),
        ...(fromVolumes ? { fromVolumes } : {}),
    };
    const kept = Object.entries(abandoned).map(
        ([k, v]) =>
            `${v.name} (${k.split("~")[0]}) was made by attempt ${k.split("~")[1]}, which did not finish: ` +
            "it stays declared, protected and retained, and is never written again; remove it by hand once you know it holds nothing you need (docs/reliability.md)",
    );
    return kept.length ? { ...plan, notes: [...plan.notes, ...kept] } : plan;
}

function planFor(
    input: PlanInput,
    from: string | undefined,
    volumes: PlannedVolume[],
    next: DeployedProduct,
    recordChanged: boolean,
): Plan {
    const { catalog, to, deployed } = input;
    const product = catalog.product;
    // A run that changes nothing still records the attempts whose backups are on disk: an attempt
    // abandoned by setting the version back is never continued later by a change of the same versions.
    const seen = attemptsSeen(deployed, input.attemptsFound ?? []);
    if (from === undefined) {
        return {
            product,
            kind: "install",
            to,
            steps: [],
            volumes,
            notes: [],
            next: seen ? { ...next, attempts: seen } : next,
        };
    }
    if (from === to) {
        const same = seen === (deployed!.attempts ?? 0) && !recordChanged;
        return {
            product,
            kind: "unchanged",
            from,
            to,
            steps: [],
            volumes,
            notes: [],
            next: same ? deployed! : { ...deployed!, attempts: seen },
        };
    }
    return cmp(from, to) < 0 ? planUpgrade(input, from, volumes, next) : planRollback(input, from, volumes, next);
}

function resolveVolumes(input: PlanInput): PlannedVolume[] {
    const { catalog, to, deployed } = input;
    const fromVols = deployed ? catalog.dataVolumes(deployed.version) : [];
    return catalog.dataVolumes(to).map((v) => {
        const override = input.volumeNames?.[v.key];
        const base = { key: v.key, type: v.type, format: v.format, mount: v.mount, owner: v.owner };
        if (!deployed) return { ...base, name: override ?? v.defaultName, isNew: true };
        const before = fromVols.find((f) => f.key === v.key);
        const fromName = before
            ? (deployed.volumes[volKey(before)]?.name ?? override ?? before.defaultName)
            : undefined;
        const known = deployed.volumes[volKey(v)];
        const rollback = cmp(to, deployed.version) < 0;
        // A recorded volume of the target format is re-attached on a rollback, or kept when the format
        // does not change. On an upgrade that changes the format it holds data from before a rollback:
        // stale, so the migration gets a fresh one (the stale one stays on record, retained).
        if (known && (rollback || before?.format === v.format || !before))
            return { ...base, name: known.name, fromName, isNew: false };
        if (before && before.format === v.format && fromName)
            return { ...base, name: fromName, fromName, isNew: false };
        // A new format gets a new volume; the old one is kept for rollback (design.md data-safety rules).
        const vendorName = override && v.defaultName === before?.defaultName ? override : v.defaultName;
        // Never the name of a retained volume/dir of another format (a product whose vendor keeps one
        // path across several format changes, e.g. ClearML's data/mongo_4 for Mongo 4.4 to 7.0).
        const retained = Object.entries(deployed.volumes).some(
            ([k, kv]) => k.startsWith(`${v.key}@`) && kv.name === vendorName,
        );
        let name =
            fromName !== undefined && (vendorName === fromName || retained) ? newName(v, vendorName) : vendorName;
        const used = new Set(Object.values(deployed.volumes).map((kv) => kv.name));
        for (let i = 2; used.has(name); i++) name = `${newName(v, vendorName)}_${i}`;
        return { ...base, name, fromName, isNew: true };
    });
}

function newName(v: DataVolume, base: string): string {
    return `${base}_${v.format}`;
}

/** A format in messages: the tag, with the vendor's words when the catalog gives them. */
const formatText = (v: { format: string; formatLabel?: string }) =>
    v.formatLabel ? `${v.format} (${v.formatLabel})` : v.format;

/**
 * Records the volume used for key@format at `version`. One that it replaces stays on record under
 * `key@format~lastVersion`: every recorded volume stays declared, protected and retained.
 */
function record(known: Record<string, KnownVolume>, v: PlannedVolume, version: string): void {
    const k = volKey(v);
    const prev = known[k];
    const recordedElsewhere = prev && Object.entries(known).some(([key, kv]) => key !== k && kv.name === prev.name);
    if (prev && prev.name !== v.name && !recordedElsewhere) {
        // A second replacement with the same last version (upgrade, rollback, upgrade again) must
        // not overwrite the first archived entry: a volume that drops off the record is no longer
        // declared, and the engine would delete it (refused: protected). e2e: three cycles.
        let archived = `${k}~${prev.lastVersion}`;
        for (let n = 2; known[archived]; n++) archived = `${k}~${prev.lastVersion}~${n}`;
        known[archived] = prev;
    }
    known[k] = { name: v.name, lastVersion: version };
}

function nextRecord(input: PlanInput, volumes: PlannedVolume[]): DeployedProduct {
    const { to, deployed } = input;
    const known: Record<string, KnownVolume> = { ...(deployed?.volumes ?? {}) };
    for (const v of volumes) record(known, v, to);
    const previous = deployed && deployed.version !== to ? deployed.version : deployed?.previous;
    return {
        version: to,
        ...(previous ? { previous } : {}),
        volumes: known,
        restorePoints: deployed?.restorePoints ?? [],
        history: deployed?.history ?? [],
        ...(deployed?.attempts ? { attempts: deployed.attempts } : {}),
        ...(deployed?.adoptCheck ? { adoptCheck: deployed.adoptCheck } : {}),
    };
}

/** The restore point every upgrade starts with: nothing is changed before it is verified. */
export function restorePointSteps(
    catalog: ProductCatalog,
    from: string,
    label: string,
    policy?: BackupPolicy,
    protect: readonly string[] = [],
): PlanStep[] {
    const vols = catalog.dataVolumes(from);
    const moves = vols.map((v) => v.key);
    const writers = catalog
        .services(from)
        .map((s) => s.name)
        .join(",");
    // An optional service (ClearML's agent-services) may not exist: the backup stops it only when
    // it runs, and the preflight does not require it (issue 12, finding 10).
    const required = catalog
        .services(from)
        .filter((s) => !s.optional)
        .map((s) => s.name)
        .join(",");
    const volumeTokens = vols.map((v) => `\${vol:${v.key}:from}`).join(",");
    // A Postgres volume is test-restored into a throwaway container of the same image, which must answer row counts.
    const pg = vols.find((v) => /^pg\d+$/.test(v.format));
    const pgCheck: Record<string, string> = pg ? { pgImage: `\${image:${pg.owner}:${from}}` } : {};
    return [
        {
            id: "preflight",
            kind: "preflight",
            phase: "before-stop",
            reversible: true,
            moves,
            description: `check Docker, the ${catalog.product} ${from} containers and volumes, and free space for the backup (3x the data)`,
            params: { volumes: volumeTokens, containers: required },
        },
        {
            id: label,
            kind: "backup",
            phase: "before-stop",
            reversible: true,
            moves,
            description: `back up ${moves.join(", ")} of ${catalog.product} ${from} (containers stopped meanwhile, started again after)`,
            // The database's rows are counted before it stops, for the verify to compare.
            params: {
                volumes: volumeTokens,
                version: from,
                label,
                stop: writers,
                ...(pg ? { pgCensus: pg.owner } : {}),
            },
        },
        {
            id: `verify-${label}`,
            kind: "verify-backup",
            phase: "before-stop",
            reversible: true,
            moves,
            description: `verify the ${label} backup: checksums, then a test restore into a throwaway container`,
            params: { label, version: from, ...pgCheck },
        },
        ...(policy?.offsite
            ? [
                  {
                      id: `push-${label}`,
                      kind: "push" as const,
                      phase: "before-stop" as const,
                      reversible: true,
                      moves,
                      description: `copy the verified ${label} backup to the S3 bucket`,
                      params: { label },
                  },
              ]
            : []),
        ...(policy?.keep
            ? [
                  {
                      id: `prune-${label}`,
                      kind: "prune" as const,
                      phase: "before-stop" as const,
                      reversible: false,
                      moves: [],
                      description: `retention: keep the last ${policy.keep} ${catalog.product} backups, the latest restore point and every rollback target on record (only once this one verified)`,
                      // Never a restore point the deployed record lists (a later rollback needs it; finding 3).
                      params: { keep: String(policy.keep), ...(protect.length ? { protect: protect.join(",") } : {}) },
                  },
              ]
            : []),
    ];
}

function planUpgrade(input: PlanInput, from: string, volumes: PlannedVolume[], next: DeployedProduct): Plan {
    const { catalog, to } = input;
    const attempt = attemptNumber(input.deployed, input.attemptsFound ?? [], from, to);
    const pointId = attemptId(from, to, attempt, "restore-point");
    const protect = [...(next.restorePoints ?? []).map((p) => p.id), pointId];
    const steps: PlanStep[] = [...restorePointSteps(catalog, from, "restore-point", input.backupPolicy, protect)];
    const fired = catalog.rules.filter((r) => lt(from, r.at) && cmp(r.at, to) <= 0).sort((a, b) => cmp(a.at, b.at));
    const imageRef = input.imageRef ?? ((ref: string) => ref);
    const ruleSteps = fired.flatMap((rule) => rule.steps({ from, to, imageRef, pgUpgradeImage: input.pgUpgradeImage }));
    steps.push(...ruleSteps.filter((s) => !AFTER_START.has(s.kind)));
    steps.push(startStep(catalog, to));
    steps.push(...ruleSteps.filter((s) => AFTER_START.has(s.kind)));
    assertUniqueIds(steps);
    const restorePoints = [...(next.restorePoints ?? []), { version: from, id: pointId }];
    return {
        product: catalog.product,
        kind: "upgrade",
        from,
        to,
        attempt,
        steps,
        volumes,
        notes: [],
        next: { ...next, restorePoints, attempts: attempt },
    };
}

function planRollback(input: PlanInput, from: string, volumes: PlannedVolume[], next: DeployedProduct): Plan {
    const { catalog, to, deployed } = input;
    const product = catalog.product;
    const attempt = attemptNumber(deployed, input.attemptsFound ?? [], from, to);
    const backupId = attemptId(from, to, attempt, "rollback-point");
    const protect = [...(deployed!.restorePoints ?? []).map((p) => p.id), backupId];
    const steps: PlanStep[] = [...restorePointSteps(catalog, from, "rollback-point", input.backupPolicy, protect)];
    // The app stays stopped from here on: a write after the rollback point would be in neither the
    // backup nor the rolled-back data (the backup starts again only what it stopped itself).
    const apps = catalog
        .services(from)
        .filter((s) => s.role === "app")
        .map((s) => s.name);
    if (apps.length) {
        steps.splice(1, 0, {
            id: "stop-apps",
            kind: "stop",
            phase: "before-stop",
            reversible: true,
            moves: [],
            description: `stop the ${product} ${from} app containers, so nothing is written after the rollback point`,
            params: { containers: apps.join(",") },
        });
    }
    const notes: string[] = [];
    const fromVols = catalog.dataVolumes(from);
    const restored: PlannedVolume[] = [];
    const toVols = catalog.dataVolumes(to);
    for (const v of volumes) {
        const current = fromVols.find((f) => f.key === v.key);
        if (!current) continue;
        const target = toVols.find((t) => t.key === v.key)!;
        const known = deployed!.volumes[volKey(v)];
        if (current.format !== v.format) {
            if (!known) {
                throw new PlanRefused(
                    `${product}:version ${to} needs ${v.key} in format ${formatText(target)}, but no retained volume of that format is recorded; ` +
                        `restore a backup taken at ${to} with \`upshift restore\`, or set ${product}:version back to ${from}`,
                );
            }
            if (lt(to, known.lastVersion)) {
                throw new PlanRefused(
                    `${product}:version ${to}: the retained ${v.key} (${known.name}) was last used by ${known.lastVersion}, newer than ${to}; ` +
                        `set ${product}:version to ${known.lastVersion} or later, or restore a backup taken at ${to}`,
                );
            }
            steps.push({
                id: `reattach-${v.key}`,
                kind: "reattach",
                phase: "before-stop",
                reversible: true,
                moves: [v.key],
                description: `re-attach the retained ${v.key} volume ${known.name} (${v.format}, last used by ${known.lastVersion})`,
                params: { volume: known.name, type: v.type },
            });
            notes.push(
                `${v.key}: changes made since the upgrade to ${from} are not in the rolled-back state; they are saved in backup ${product}/${backupId}`,
            );
        } else if (current.schema) {
            const point = [...(deployed!.restorePoints ?? [])].reverse().find((p) => p.version === to);
            if (!point) {
                throw new PlanRefused(
                    `${product}:version ${to} is older than the deployed ${from} and ${v.key} keeps the same format (${formatText(target)}) but its schema was migrated by ${from}; ` +
                        `no restore point taken at ${to} is recorded, so it cannot be rolled back safely. Set ${product}:version back to ${from}, or restore a backup taken at ${to} by hand with \`upshift restore\``,
                );
            }
            const name = `${v.name}_rollback_${to.replace(/\./g, "_")}`;
            steps.push({
                id: `restore-${v.key}`,
                kind: "restore-backup",
                phase: "before-stop",
                reversible: true,
                moves: [v.key],
                description: `restore ${v.key} from restore point ${product}/${point.id} (taken at ${to}) into the new volume ${name}`,
                params: { backup: point.id, source: v.fromName ?? v.name, target: name, type: v.type },
            });
            restored.push({ ...v, name, isNew: true });
            notes.push(
                `${v.key}: changes made since ${to} are not in the rolled-back state; they are saved in backup ${product}/${backupId}`,
            );
        }
    }
    // What the rollback needs is checked before anything is stopped: the retained volumes exist and
    // the restore points verify (checksums). A missing or damaged one refuses the rollback with the
    // product still running (issue 12, finding 3).
    const retained = steps
        .filter((s) => s.kind === "reattach")
        .map((s) => `${s.params.type ?? "volume"}:${s.params.volume}`);
    const points = steps.filter((s) => s.kind === "restore-backup").map((s) => s.params.backup);
    if (retained.length || points.length) {
        steps[0] = {
            ...steps[0],
            description: `${steps[0].description}; and, before anything is stopped, ${[
                ...(retained.length
                    ? [
                          `that the retained ${retained.map((r) => r.slice(r.indexOf(":") + 1)).join(", ")} still ${retained.length > 1 ? "exist" : "exists"}`,
                      ]
                    : []),
                ...(points.length ? [`that restore point ${points.join(", ")} is whole (every archive's sha256)`] : []),
            ].join(" and ")}`,
            params: {
                ...steps[0].params,
                ...(retained.length ? { retained: retained.join(",") } : {}),
                ...(points.length ? { backups: points.join(",") } : {}),
            },
        };
    }
    steps.push(startStep(catalog, to));
    assertUniqueIds(steps);
    const finalVolumes = volumes.map((v) => restored.find((r) => r.key === v.key) ?? v);
    const known = { ...next.volumes };
    for (const v of finalVolumes) record(known, v, to);
    return {
        product,
        kind: "rollback",
        from,
        to,
        attempt,
        steps,
        volumes: finalVolumes,
        notes,
        next: { ...next, volumes: known, attempts: attempt },
    };
}

/**
 * Steps that run once the product serves again, after `start`: work that the app does not need
 * first (the planner statistics after pg_upgrade) is not downtime. They are still part of the
 * change: `deployed` moves only after them.
 */
const AFTER_START: ReadonlySet<PlanStep["kind"]> = new Set(["pg-analyze"]);

/**
 * The last step of every change (but for the AFTER_START ones): a container that a step stopped (the backup's or pg-migrate's
 * `--stop`, a rollback's stop-apps) and that the engine did not replace stays stopped otherwise
 * (docs/pulumi.md, "Stopped containers"). It also waits until every container is healthy, so the
 * change, and the `deployed` record, completes only with the whole product serving.
 */
function startStep(catalog: ProductCatalog, to: string): PlanStep {
    const services = catalog.services(to);
    return {
        id: "start",
        kind: "start",
        phase: "after-app",
        reversible: true,
        moves: [],
        description: `start every ${catalog.product} ${to} container that a step stopped and that was not replaced, and wait until all are healthy`,
        params: {
            containers: services
                .filter((s) => !s.optional)
                .map((s) => s.name)
                .join(","),
            optional: services
                .filter((s) => s.optional)
                .map((s) => s.name)
                .join(","),
        },
    };
}

function assertUniqueIds(steps: PlanStep[]): void {
    const seen = new Set<string>();
    for (const s of steps) {
        if (seen.has(s.id)) throw new Error(`catalog bug: two plan steps share the id ${s.id}`);
        seen.add(s.id);
    }
}

/** The plan in words, one line per step, for the preview log. */
export function describePlan(plan: Plan): string {
    const head =
        plan.kind === "install"
            ? `${plan.product} ${plan.to}: fresh install (or adoption of existing volumes)`
            : plan.kind === "unchanged"
              ? `${plan.product} ${plan.to}: unchanged, no step`
              : `${plan.product} ${plan.from} -> ${plan.to} (${plan.kind}): ${plan.steps.length} steps`;
    // Volume tokens in descriptions name the real volumes (images are resolved by the component).
    const words = (text: string) =>
        text.replace(/\$\{vol:([^:}]+):(from|to)\}/g, (all, key: string, when: string) => {
            const v = plan.volumes.find((x) => x.key === key);
            return v ? (when === "from" ? (v.fromName ?? v.name) : v.name) : all;
        });
    const lines = plan.steps.map(
        (s, i) => `  ${i + 1}. [${s.kind}${s.reversible ? "" : ", point of no return"}] ${words(s.description)}`,
    );
    const vols = plan.volumes
        .filter((v) => v.isNew && plan.kind !== "install")
        .map((v) =>
            v.fromName === undefined
                ? `  new ${v.type} ${v.name} for ${v.key} (${v.format}), new in ${plan.to}`
                : `  new ${v.type} ${v.name} for ${v.key} (${v.format}); ${v.fromName} is kept`,
        );
    return [head, ...lines, ...vols, ...plan.notes.map((n) => `  note: ${n}`)].join("\n");
}
