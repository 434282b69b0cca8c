// `upshift prune`: retention for local backups and, optionally, those in S3 (docs/backups.md).
// The decision is hooks/offsite/retention.ts (pure); here: list, verify the newest backup of each product
// (sha256 of every archive, in-process), delete what the decision says, report.
import { BackupEntry, deleteLocalBackup, inspectLocalBackup, listLocalBackups } from "./backup-index";
import { HookCommand, UsageError } from "../core/command";
import { HookError, log, parseOptions, runOperation, splitList } from "../core/report";
import { decideRetention, newestPerProduct, RetentionDecision } from "./retention";
import { deleteS3Backup, listS3Backups, S3_FLAGS, S3Target, s3TargetFrom, verifyS3Backup } from "./s3";

export const prune: HookCommand = {
    name: "prune",
    summary: "delete old backups: keep the last N per product and the latest restore point (local, optionally S3)",
    usage: [
        "usage: upshift prune --keep N (--backup-dir DIR | --bucket B [--prefix X] | both) [--product P] [--dry-run] [--json]",
        "                     [--protect [P/]ID]... [--s3-endpoint URL] [--region R] [--quiet]",
        "  Per product: keeps the N newest good backups, the latest `restore-point` one and every --protect one",
        "  (the deployed record's rollback targets; P/ may be left out with --product); runs only if the",
        "  newest backup verifies (sha256 of every archive), never deletes the last good one. Partial backups",
        "  and ones it did not write as they are (copied, renamed, unreadable manifest) are left alone; a",
        "  corrupt one among the N newest is reported, not deleted. --dry-run prints what it would delete.",
        "  Exit 1 when a product was not pruned because its newest backup does not verify.",
    ].join("\n"),
    async run(argv) {
        const { values } = parseOptions(argv, {
            keep: { type: "string" },
            "backup-dir": { type: "string" },
            prefix: { type: "string" },
            product: { type: "string" },
            protect: { type: "string", multiple: true },
            "dry-run": { type: "boolean" },
            json: { type: "boolean" },
            quiet: { type: "boolean" },
            ...S3_FLAGS,
        });
        if (values.keep === undefined) throw new UsageError("--keep N is required");
        const keep = Number(values.keep);
        if (!Number.isInteger(keep) || keep < 1)
            throw new UsageError("--keep must be an integer >= 1 (a prune never deletes every backup)");
        if (!values["backup-dir"] && !values.bucket) throw new UsageError("give --backup-dir, --bucket or both");
        const dryRun = Boolean(values["dry-run"]);
        const protect = new Set<string>();
        for (const p of splitList(values.protect)) {
            const full = p.includes("/") ? p : values.product ? `${values.product}/${p}` : undefined;
            if (!full || !/^[^/]+\/[^/]+$/.test(full))
                throw new UsageError(`--protect ${p}: give PRODUCT/ID, or ID with --product`);
            protect.add(full);
        }
        return runOperation("prune", async () => {
            const result: Record<string, unknown> = { dryRun, keep };
            const blocked: string[] = [];
            if (values["backup-dir"]) {
                const dir = values["backup-dir"];
                const r = await pruneWith({
                    where: "local",
                    list: () => listLocalBackups(dir, { product: values.product }),
                    verify: (e) => inspectLocalBackup(e.path!, { verify: true }),
                    remove: (e) => deleteLocalBackup(e.path!),
                    keep,
                    protect,
                    dryRun,
                });
                result.local = report(r, dryRun);
                blocked.push(...r.blocked.map((b) => `local: ${b.reason}`));
            }
            const target = s3TargetFrom(values);
            if (target) {
                const t: S3Target = target;
                const r = await pruneWith({
                    where: `s3://${t.bucket}`,
                    list: () =>
                        listS3Backups({ target: t, prefix: values.prefix, product: values.product, quiet: true }),
                    verify: (e) => verifyS3Backup(t, e.key!, values.quiet),
                    remove: async (e) => void (await deleteS3Backup(t, e.key!)),
                    keep,
                    protect,
                    dryRun,
                });
                result.s3 = { bucket: t.bucket, ...report(r, dryRun) };
                blocked.push(...r.blocked.map((b) => `s3: ${b.reason}`));
            }
            if (blocked.length)
                throw new HookError(`${blocked.join("; ")} (other products were pruned as reported above)`);
            return result;
        });
    },
};

interface PruneIo {
    where: string;
    list(): Promise<BackupEntry[]>;
    verify(e: BackupEntry): Promise<BackupEntry>;
    remove(e: BackupEntry): Promise<void>;
    keep: number;
    protect: ReadonlySet<string>;
    dryRun: boolean;
}

/** List, verify the newest per product, decide, delete (unless dry-run). */
export async function pruneWith(io: PruneIo): Promise<RetentionDecision<BackupEntry>> {
    const entries = await io.list();
    for (const newest of newestPerProduct(entries)) {
        const checked = await io.verify(newest);
        newest.status = checked.status;
        newest.problems = checked.problems;
        if (checked.status !== "checksum-ok")
            log(
                "prune",
                `${io.where} ${newest.product}/${newest.id}: newest backup does not verify: ${checked.problems.join("; ")}`,
            );
    }
    const decision = decideRetention(entries, { keep: io.keep, protect: io.protect });
    for (const d of decision.damaged)
        log("prune", `${io.where} DAMAGED ${d.item.product}/${d.item.id} (${d.item.createdAt}): ${d.reason}`);
    for (const u of decision.untouched)
        log("prune", `${io.where} leaving ${u.item.product}/${u.item.id} alone (${u.reason})`);
    for (const d of decision.delete) {
        log(
            "prune",
            `${io.where} ${io.dryRun ? "would delete" : "deleting"} ${d.item.product}/${d.item.id} (${d.item.createdAt}, ${d.reason})`,
        );
        if (!io.dryRun) await io.remove(d.item);
    }
    for (const k of decision.keep)
        log("prune", `${io.where} keeping ${k.item.product}/${k.item.id} (${k.reasons.join(", ")})`);
    return decision;
}

function report(d: RetentionDecision<BackupEntry>, dryRun: boolean) {
    const ref = (e: BackupEntry) => ({
        product: e.product,
        id: e.id,
        createdAt: e.createdAt,
        label: e.label,
        status: e.status,
    });
    return {
        [dryRun ? "wouldDelete" : "deleted"]: d.delete.map((x) => ({ ...ref(x.item), reason: x.reason })),
        kept: d.keep.map((x) => ({ ...ref(x.item), reasons: x.reasons })),
        untouched: d.untouched.map((x) => ({ ...ref(x.item), reason: x.reason })),
        damaged: d.damaged.map((x) => ({ ...ref(x.item), reason: x.reason })),
        blocked: d.blocked,
    };
}
