// `upshift pull`: fetch a backup from S3 into the local backup directory, verified (docs/backups.md).
import { HookCommand } from "../core/command";
import { parseOptions, requireFlags, runOperation } from "../core/report";
import { pullBackup, S3_FLAGS, s3TargetFrom } from "./s3";

export const pull: HookCommand = {
    name: "pull",
    summary: "download a backup from S3 into DIR/PRODUCT/ID, verifying every sha256 first",
    usage: [
        "usage: upshift pull --bucket B --key-prefix [X/]PRODUCT/ID --to DIR [--s3-endpoint URL] [--region R] [--quiet]",
        "  Downloads into DIR/PRODUCT/ID.partial, checks every archive's sha256 and size against the",
        "  manifest, then renames it to DIR/PRODUCT/ID (what `restore --backup` takes). A corrupt object",
        "  fails the pull and leaves nothing at the target. Already present and identical: nothing to do.",
    ].join("\n"),
    async run(argv) {
        const { values } = parseOptions(argv, {
            "key-prefix": { type: "string" },
            to: { type: "string" },
            quiet: { type: "boolean" },
            ...S3_FLAGS,
        });
        requireFlags(values, "bucket", "key-prefix", "to");
        return runOperation("pull", async () => {
            const r = await pullBackup({
                target: s3TargetFrom(values)!,
                keyPrefix: values["key-prefix"]!,
                toDir: values.to!,
                quiet: values.quiet,
            });
            return { ...r };
        });
    },
};
