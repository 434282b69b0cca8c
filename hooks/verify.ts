// `upshift verify`: a backup is known good before anything destructive happens (issue 3): every
// archive's size and sha256, and with --test-restore a real restore into throwaway volumes whose
// file counts and bytes must match the manifest, then the manifest's `checks` (verify-checks.ts).
import * as crypto from "crypto";
import * as path from "path";
import { HookCommand, UsageError } from "./command";
import { checkArchives, countFiles, extractArchive, imageHasZstd } from "./archive";
import { docker, helperImage } from "./docker";
import { readManifest } from "./manifest";
import { HookError, log, parseOptions, runOperation } from "./report";
import { verifyCheck } from "./verify-checks";

const USAGE = `usage: upshift verify --backup DIR/P/ID [--test-restore] [--pg-image IMG] [--helper-image IMG]
  Checks the size and sha256 of every archive. --test-restore also restores each archive into a
  throwaway volume, compares files and bytes with the manifest and runs the manifest's checks
  (a Postgres archive in a throwaway container of --pg-image). Throwaway volumes are removed.`;

const OPTIONS = {
    backup: { type: "string" },
    "test-restore": { type: "boolean", default: false },
    "pg-image": { type: "string" },
    "helper-image": { type: "string" },
} as const;

export const verify: HookCommand = {
    name: "verify",
    summary: "check every archive's sha256; --test-restore restores into throwaway volumes and compares",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, OPTIONS);
        if (!values.backup) throw new UsageError("--backup DIR/P/ID is required");
        return runOperation("verify", () => runVerify(path.resolve(values.backup!), values["test-restore"] === true, helperImage(values["helper-image"]), values["pg-image"]));
    },
};

async function runVerify(dir: string, testRestore: boolean, image: string, pgImage?: string): Promise<Record<string, unknown>> {
    const m = readManifest(dir);
    const problems = await checkArchives(dir, m.archives);
    if (problems.length) throw new HookError(`backup ${dir} is not good: ${problems.join("; ")}`);
    const result: Record<string, unknown> = { backup: dir, id: m.id, archives: m.archives.length, checksums: "ok" };
    if (!testRestore) return result;

    // Refuse unknown checks up front rather than after minutes of restoring.
    const keys = Object.keys(m.checks ?? {});
    const unknown = keys.filter((k) => !verifyCheck(k));
    if (unknown.length) throw new HookError(`backup ${dir} asks for checks this upshift cannot run: ${unknown.join(", ")}`);

    const run = crypto.randomBytes(3).toString("hex");
    const volumes = new Map<string, string>();
    try {
        const helperZstd = await imageHasZstd(image);
        const restored: Record<string, unknown>[] = [];
        for (const a of m.archives) {
            const vol = `upshift-verify-${run}-${a.name}`.slice(0, 120);
            await docker(["volume", "create", "--label", "upshift.throwaway=true", vol]);
            volumes.set(a.name, vol);
            await extractArchive(path.join(dir, a.file), a.sha256, { type: "volume", name: vol }, image, {
                clear: false, marker: `verify ${m.id}/${a.name}`, helperZstd, label: `test-restore ${a.name}`,
            });
            const got = await countFiles({ type: "volume", name: vol }, image);
            if (got.files !== a.files || got.bytes !== a.sourceBytes) {
                throw new HookError(`test restore of ${a.name} gave ${got.files} files / ${got.bytes} bytes, the manifest recorded ${a.files} / ${a.sourceBytes}`);
            }
            restored.push({ name: a.name, files: got.files, bytes: got.bytes });
        }
        const checks: Record<string, unknown> = {};
        for (const k of keys) {
            checks[k] = await verifyCheck(k)!(m.checks![k], {
                backupDir: dir, manifest: m, volumes, helperImage: image, pgImage, log: (msg) => log("verify", msg),
            });
        }
        return { ...result, testRestore: restored, ...(keys.length ? { checks } : {}) };
    } finally {
        for (const v of volumes.values()) await docker(["volume", "rm", "-f", v], { check: false });
    }
}
