// Which backups to keep and which to delete: a pure function, no I/O (the prune operation does the
// listing, the verification of the newest backup and the deleting). Imports nothing from Pulumi.
//
// Rules, per product (docs/backups.md "Prune"):
//  - only backups upshift wrote take part: `partial` ones (unfinished or being written right now)
//    and `foreign` ones (a manifest that is unreadable or names another id or product: copied,
//    renamed, or not ours) are never deleted here, only reported (issue 12, finding 4);
//  - the newest backup (by createdAt) must have been verified (status `checksum-ok`), otherwise
//    nothing of that product is deleted;
//  - kept: the newest backup, the N newest backups that are not corrupt, the latest backup
//    labelled `restore-point` (the restore point of the latest upgrade), and every backup the
//    deployed record lists as a rollback target (`protect`; issue 12, finding 3);
//  - a corrupt backup among the N newest is kept and reported as damaged, never deleted: the
//    operator decides what a damaged recent backup means;
//  - everything else is deleted (corrupt backups older than the N newest included);
//  - the kept set always holds a good backup; if it would not, nothing is deleted.
// Like docker-volume-backup, a prune that would delete every backup is refused.

export type RetentionStatus = "complete" | "checksum-ok" | "corrupt" | "partial" | "foreign";

export interface RetentionItem {
    product: string;
    id: string;
    createdAt?: string;
    label?: string;
    status: RetentionStatus;
}

export interface RetentionPolicy {
    /** Keep the last N (>= 1) good backups per product. */
    keep: number;
    /** Label of the backups taken before an upgrade (default `restore-point`). */
    restorePointLabel?: string;
    /** Ids (per product: `<product>/<id>`) that are never deleted: the deployed record's rollback targets. */
    protect?: ReadonlySet<string>;
}

export interface Kept<T> {
    item: T;
    reasons: string[];
}

export interface Deleted<T> {
    item: T;
    reason: string;
}

export interface RetentionDecision<T extends RetentionItem> {
    keep: Kept<T>[];
    delete: Deleted<T>[];
    /** Left alone: partial and foreign backups, and backups without a readable createdAt. */
    untouched: Deleted<T>[];
    /** Corrupt backups among the N newest: kept, and reported. */
    damaged: Deleted<T>[];
    /** Products where nothing is deleted, and why (e.g. the newest backup does not verify). */
    blocked: { product: string; reason: string }[];
}

export const RESTORE_POINT_LABEL = "restore-point";

function time(x: RetentionItem): number {
    return x.createdAt === undefined ? NaN : Date.parse(x.createdAt);
}

/** Newest first; equal times by id, descending, so the order is deterministic. */
function newestFirst<T extends RetentionItem>(a: T, b: T): number {
    return time(b) - time(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

function byProduct<T extends RetentionItem>(items: readonly T[]): Map<string, T[]> {
    const m = new Map<string, T[]>();
    for (const it of items) {
        const l = m.get(it.product) ?? [];
        l.push(it);
        m.set(it.product, l);
    }
    return m;
}

/** The backup per product that must verify before anything of that product is pruned. */
export function newestPerProduct<T extends RetentionItem>(items: readonly T[]): T[] {
    const out: T[] = [];
    for (const list of byProduct(items).values()) {
        const pool = list
            .filter((x) => x.status !== "partial" && x.status !== "foreign" && !Number.isNaN(time(x)))
            .sort(newestFirst);
        if (pool.length) out.push(pool[0]);
    }
    return out;
}

export function decideRetention<T extends RetentionItem>(
    items: readonly T[],
    policy: RetentionPolicy,
): RetentionDecision<T> {
    if (!Number.isInteger(policy.keep) || policy.keep < 1) {
        throw new RangeError(`keep must be an integer >= 1 (got ${policy.keep}): a prune never deletes every backup`);
    }
    const rpLabel = policy.restorePointLabel ?? RESTORE_POINT_LABEL;
    const decision: RetentionDecision<T> = { keep: [], delete: [], untouched: [], damaged: [], blocked: [] };
    const keepAll = (list: T[], why: string) => list.forEach((item) => decision.keep.push({ item, reasons: [why] }));

    for (const [product, list] of [...byProduct(items).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const pool: T[] = [];
        for (const it of list) {
            if (it.status === "partial")
                decision.untouched.push({ item: it, reason: "partial (unfinished or being written): left alone" });
            else if (it.status === "foreign")
                decision.untouched.push({
                    item: it,
                    reason: "not as upshift wrote it (manifest unreadable, or of another id or product): left alone",
                });
            else if (Number.isNaN(time(it)))
                decision.untouched.push({ item: it, reason: "no readable createdAt: left alone" });
            else pool.push(it);
        }
        pool.sort(newestFirst);
        if (pool.length === 0) continue;

        const newest = pool[0];
        if (newest.status !== "checksum-ok") {
            decision.blocked.push({
                product,
                reason: `newest backup ${product}/${newest.id} is ${newest.status === "corrupt" ? "corrupt" : "not verified"}: nothing pruned`,
            });
            keepAll(pool, "prune blocked for this product");
            continue;
        }

        const reasons = new Map<T, string[]>();
        const mark = (it: T, why: string) => reasons.set(it, [...(reasons.get(it) ?? []), why]);
        mark(newest, "newest, verified");
        pool.filter((x) => x.status !== "corrupt")
            .slice(0, policy.keep)
            .forEach((it, i) => mark(it, `last ${policy.keep} (#${i + 1})`));
        const restorePoints = pool.filter((x) => x.label === rpLabel);
        const latestRp = restorePoints.find((x) => x.status !== "corrupt") ?? restorePoints[0];
        if (latestRp) mark(latestRp, "latest restore point");
        for (const it of pool)
            if (policy.protect?.has(`${it.product}/${it.id}`)) mark(it, "a rollback target in the deployed record");
        const damaged = pool.slice(0, policy.keep).filter((x) => x.status === "corrupt");
        for (const it of damaged) {
            mark(it, `damaged, among the last ${policy.keep}: reported, not deleted`);
            decision.damaged.push({
                item: it,
                reason: `corrupt and among the last ${policy.keep}: check it (upshift verify), then delete or replace it by hand`,
            });
        }

        const kept = pool.filter((x) => reasons.has(x));
        const goodKept = kept.some((x) => x.status === "checksum-ok" || x.status === "complete");
        if (!goodKept) {
            // Cannot happen while the newest is verified and kept; guard against any future rule change.
            decision.blocked.push({ product, reason: `no good backup of ${product} would be left: nothing pruned` });
            keepAll(pool, "prune blocked for this product");
            continue;
        }
        for (const it of pool) {
            const r = reasons.get(it);
            if (r) decision.keep.push({ item: it, reasons: r });
            else
                decision.delete.push({
                    item: it,
                    reason:
                        it.status === "corrupt" ? "corrupt, not needed to keep" : `older than the last ${policy.keep}`,
                });
        }
    }
    return decision;
}
