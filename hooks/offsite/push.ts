// `upshift push`: copy a local backup to S3 (docs/backups.md).
import { HookCommand, UsageError } from "../core/command";
import { parseOptions, requireFlags, runOperation } from "../core/report";
import { MIN_PART_SIZE, pushBackup, S3_FLAGS, s3TargetFrom } from "./s3";

export const push: HookCommand = {
    name: "push",
    summary: "upload a local backup (archives + manifest) to S3, multipart with SHA256 checksums",
    usage: [
        "usage: upshift push --backup DIR/PRODUCT/ID --bucket B [--prefix X] [--s3-endpoint URL] [--region R] [--part-size-mb N] [--quiet]",
        "  Uploads each archive, then manifest.json, to s3://B/[X/]PRODUCT/ID/. Credentials: the AWS SDK's",
        "  default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws). Endpoint also from",
        "  UPSHIFT_S3_ENDPOINT (S3-compatible servers, path-style). A rerun skips archives already uploaded.",
    ].join("\n"),
    async run(argv) {
        const { values } = parseOptions(argv, {
            backup: { type: "string" },
            prefix: { type: "string" },
            "part-size-mb": { type: "string" },
            quiet: { type: "boolean" },
            ...S3_FLAGS,
        });
        requireFlags(values, "backup", "bucket");
        let partSize: number | undefined;
        if (values["part-size-mb"] !== undefined) {
            const mb = Number(values["part-size-mb"]);
            if (!Number.isFinite(mb) || mb * 1024 * 1024 < MIN_PART_SIZE)
                throw new UsageError("--part-size-mb must be a number >= 5");
            partSize = Math.floor(mb * 1024 * 1024);
        }
        return runOperation("push", async () => {
            const target = s3TargetFrom(values)!;
            const r = await pushBackup({
                target,
                backupDir: values.backup!,
                prefix: values.prefix,
                partSize,
                quiet: values.quiet,
            });
            return { ...r };
        });
    },
};
