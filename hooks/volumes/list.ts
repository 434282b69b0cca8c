// `upshift list`: local backups and, with --bucket, those in S3, with their status (docs/backups.md).
import { BackupEntry, formatBytes, listLocalBackups } from "../offsite/backup-index";
import { HookCommand, UsageError } from "../core/command";
import { HookError, parseOptions, runOperation } from "../core/report";
import { listS3Backups, S3_FLAGS, s3TargetFrom } from "../offsite/s3";

export const list: HookCommand = {
    name: "list",
    summary: "list backups (local and S3) with id, product, version, label, time, size and status",
    usage: [
        "usage: upshift list [--backup-dir DIR] [--bucket B [--prefix X] [--s3-endpoint URL] [--region R]] [--product P] [--verify] [--json]",
        "  status: complete (every archive there, sizes match), checksum-ok (--verify: every sha256 matches),",
        "  corrupt (size, sha256 or metadata differ), partial (manifest or an archive missing, unfinished).",
        "  Without --json prints a table; with --json one JSON line {ok, backups:[...]}.",
        "  --verify hashes every archive (S3: downloads it, writing nothing).",
    ].join("\n"),
    async run(argv) {
        const { values } = parseOptions(argv, {
            "backup-dir": { type: "string" },
            prefix: { type: "string" },
            product: { type: "string" },
            verify: { type: "boolean" },
            json: { type: "boolean" },
            quiet: { type: "boolean" },
            ...S3_FLAGS,
        });
        if (!values["backup-dir"] && !values.bucket) throw new UsageError("give --backup-dir, --bucket or both");
        const collect = async (): Promise<BackupEntry[]> => {
            const out: BackupEntry[] = [];
            if (values["backup-dir"])
                out.push(
                    ...(await listLocalBackups(values["backup-dir"], {
                        product: values.product,
                        verify: values.verify,
                    })),
                );
            const target = s3TargetFrom(values);
            if (target) {
                out.push(
                    ...(await listS3Backups({
                        target,
                        prefix: values.prefix,
                        product: values.product,
                        verify: values.verify,
                        quiet: values.quiet ?? !values.verify,
                    })),
                );
            }
            return out;
        };
        if (values.json) return runOperation("list", async () => ({ backups: await collect() }));
        let entries: BackupEntry[];
        try {
            entries = await collect();
        } catch (e) {
            if (e instanceof UsageError) throw e;
            process.stderr.write(
                `upshift list: ${e instanceof HookError || e instanceof Error ? e.message : String(e)}\n`,
            );
            return 1;
        }
        process.stdout.write(formatTable(entries));
        return 0;
    },
};

/** The table an operator reads. */
export function formatTable(entries: BackupEntry[]): string {
    const header = ["WHERE", "PRODUCT", "ID", "VERSION", "LABEL", "CREATED", "SIZE", "STATUS"];
    const rows = entries.map((e) => [
        e.location === "s3" ? `s3://${e.bucket}` : "local",
        e.product,
        e.id,
        e.version ?? "-",
        e.label ?? "-",
        e.createdAt ?? "-",
        formatBytes(e.bytes),
        e.status,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
        r
            .map((c, i) => c.padEnd(widths[i]))
            .join("  ")
            .trimEnd() + "\n";
    let out = line(header) + rows.map(line).join("");
    const problems = entries.filter((e) => e.problems.length);
    if (problems.length) {
        out += "\n";
        for (const e of problems) out += `${e.product}/${e.id} (${e.location}): ${e.problems.join("; ")}\n`;
    }
    if (!entries.length) out += "(no backups)\n";
    return out;
}
