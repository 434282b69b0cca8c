// `upshift verify`: a backup is known good before anything destructive happens (issue 3): every
// archive's size and sha256, and with --test-restore a real restore into throwaway volumes whose
// file counts and bytes must match the manifest, then the manifest's `checks` and the checks that
// run on every test restore (verify-checks.ts; a Postgres data directory: verify-postgres.ts).
// A passed test restore is recorded in `<backup>/verified.json` (time, images, full check details).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HookCommand } from "../core/command";
import { checkArchives, DamagedArchiveError, extractArchive, imageHasZstd } from "./archive";
import { docker, helperImage, ownerLabels, removeLeftovers } from "../core/docker";
import { readBackupArg } from "./manifest";
import { HookError, log, parseOptions, requireFlags, runOperation } from "../core/report";
import { autoVerifyChecks, verifyCheck } from "./verify-checks";
import { writeJsonAtomic } from "../postgres/common";
// Registers the `postgres` check (a restored Postgres data directory must start and answer).
import "./verify-postgres";

/** Written into the backup directory after a passed `--test-restore`. */
export const VERIFIED_FILE = "verified.json";
export const VERIFIED_FORMAT = "upshift-verified/1";

const USAGE = `usage: upshift verify --backup DIR/P/ID [--test-restore] [--pg-image IMG] [--helper-image IMG]
  Checks the size and sha256 of every archive. --test-restore also restores each archive into a
  throwaway volume (the sha256 then compared as it is extracted, each archive read once),
  compares files and bytes with the manifest and runs the manifest's checks (a Postgres
  archive in a throwaway container of --pg-image). Throwaway volumes are removed.
  An archive holding a Postgres data directory (PG_VERSION at its top) is always checked: with
  --pg-image it must start and answer row counts of every table; without, it is flagged
  "not test-started (no --pg-image)". A passed test restore is recorded in DIR/P/ID/verified.json.`;

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
        requireFlags(values, "backup DIR/P/ID");
        return runOperation("verify", () =>
            runVerify(
                path.resolve(values.backup!),
                values["test-restore"] === true,
                helperImage(values["helper-image"]),
                values["pg-image"],
            ),
        );
    },
};

async function runVerify(
    dir: string,
    testRestore: boolean,
    image: string,
    pgImage?: string,
): Promise<Record<string, unknown>> {
    try {
        return await verifyBackup(dir, testRestore, image, pgImage);
    } catch (e) {
        // A record of an earlier pass must not outlive a failed verification.
        try {
            fs.rmSync(path.join(dir, VERIFIED_FILE), { force: true });
        } catch {
            /* read-only: nothing was written either */
        }
        throw e;
    }
}

async function verifyBackup(
    dir: string,
    testRestore: boolean,
    image: string,
    pgImage?: string,
): Promise<Record<string, unknown>> {
    const m = readBackupArg(dir);
    // A test restore hashes each archive as it extracts it: then the sizes come first, the sha256s there.
    const problems = await checkArchives(dir, m.archives, { hash: !testRestore });
    if (problems.length) throw new HookError(`backup ${dir} is not good: ${problems.join("; ")}`);
    const result: Record<string, unknown> = { backup: dir, id: m.id, archives: m.archives.length, checksums: "ok" };
    if (!testRestore) return result;

    // Refuse unknown checks up front rather than after minutes of restoring.
    const manifestKeys = Object.keys(m.checks ?? {});
    const keys = [...manifestKeys, ...autoVerifyChecks().filter((k) => !manifestKeys.includes(k))];
    const unknown = keys.filter((k) => !verifyCheck(k));
    if (unknown.length)
        throw new HookError(`backup ${dir} asks for checks this upshift cannot run: ${unknown.join(", ")}`);

    // Throwaway volumes and containers of a verify that was killed are removed first (finding 9).
    const leftovers = await removeLeftovers();
    if (leftovers.length)
        log("verify", `removed ${leftovers.length} helper containers and throwaway volumes left by an interrupted run`);
    const run = crypto.randomBytes(3).toString("hex");
    const volumes = new Map<string, string>();
    try {
        const helperZstd = await imageHasZstd(image);
        const restored: Record<string, unknown>[] = [];
        for (const a of m.archives) {
            const vol = `upshift-verify-${run}-${a.name}`.slice(0, 120);
            await docker(["volume", "create", ...ownerLabels("throwaway"), vol]);
            volumes.set(a.name, vol);
            let got: { files: number; bytes: number };
            try {
                got = await extractArchive(path.join(dir, a.file), a.sha256, { type: "volume", name: vol }, image, {
                    clear: false,
                    marker: `verify ${m.id}/${a.name}`,
                    helperZstd,
                    label: `test-restore ${a.name}`,
                    compression: a.compression,
                });
            } catch (e) {
                if (e instanceof DamagedArchiveError) throw new HookError(`backup ${dir} is not good: ${e.message}`);
                throw e;
            }
            if (got.files !== a.files || got.bytes !== a.sourceBytes) {
                throw new HookError(
                    `test restore of ${a.name} gave ${got.files} files / ${got.bytes} bytes, the manifest recorded ${a.files} / ${a.sourceBytes}`,
                );
            }
            restored.push({ name: a.name, files: got.files, bytes: got.bytes });
        }
        const checks: Record<string, unknown> = {};
        const details: Record<string, unknown> = {};
        for (const k of keys) {
            const summary = await verifyCheck(k)!(m.checks?.[k], {
                backupDir: dir,
                manifest: m,
                volumes,
                helperImage: image,
                pgImage,
                log: (msg) => log("verify", msg),
                record: (d) => {
                    details[k] = d;
                },
            });
            if (summary !== undefined) checks[k] = summary;
        }
        writeVerified(dir, {
            format: VERIFIED_FORMAT,
            id: m.id,
            product: m.product,
            version: m.version,
            verifiedAt: new Date().toISOString(),
            helperImage: image,
            ...(pgImage ? { pgImage } : {}),
            checksums: "ok",
            testRestore: restored,
            checks: details,
        });
        return { ...result, testRestore: restored, ...(Object.keys(checks).length ? { checks } : {}) };
    } finally {
        for (const v of volumes.values()) await docker(["volume", "rm", "-f", v], { check: false });
    }
}

/** `<backup>/verified.json`; a backup on read-only storage is still verified (a warning only). */
function writeVerified(dir: string, record: Record<string, unknown>): void {
    try {
        writeJsonAtomic(path.join(dir, VERIFIED_FILE), record, 0o644);
    } catch (e) {
        log(
            "verify",
            `could not write ${path.join(dir, VERIFIED_FILE)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the backup is verified all the same`,
        );
        fs.rmSync(path.join(dir, `${VERIFIED_FILE}.tmp`), { force: true });
    }
}
