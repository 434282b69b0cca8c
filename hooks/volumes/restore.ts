// `upshift restore`: archives of a backup into new or empty volumes/directories. Every archive's
// size is checked and every target inspected before the first write; each archive is read once,
// its sha256 compared as it is extracted (before the first write where --force replaces data).
// The backup itself is only read.
// A restore that is killed leaves a marker in its targets: a rerun clears and redoes only those.
// A finished restore is recorded in the state directory: its rerun (a step whose report was lost)
// checks that the target still holds what was restored and does not redo it (issue 12).
// A target that a running container uses is never written, not even with --force.
// With --from-s3 the backup is first pulled from the bucket into --backup's place (s3.ts
// pullBackup: every sha256 checked before it is renamed into place), then restored from there.
import * as path from "path";
import { HookCommand, UsageError } from "../core/command";
import {
    checkArchives,
    clearMarkers,
    countFiles,
    DamagedArchiveError,
    extractArchive,
    inspectTarget,
    removeLeftoverHelper,
    restoreHelperName,
    Source,
    TargetState,
} from "./archive";
import { readState, writeState } from "../core/stop-restart";
import { linksPointingOut } from "./links";
import { docker, helperImage } from "../core/docker";
import { ArchiveEntry, Manifest, readBackupArg } from "./manifest";
import { HookError, log, parseOptions, requireFlags, runOperation } from "../core/report";
import { backupKeyPrefix, pullBackup, s3TargetFrom } from "../offsite/s3";

const USAGE = `usage: upshift restore --backup DIR/P/ID (--volume SRC=TARGET | --dir SRC=PATH)... [--force] [--helper-image IMG]
                       [--from-s3 BUCKET [--prefix X] [--s3-endpoint URL] [--region R] [--quiet]]
  SRC is an archive name (or its source's name) from the backup's manifest.
  Checks every archive's size first and its sha256 as it is extracted; restores into a new or
  empty volume/directory. A damaged archive fails the restore and leaves its target emptied, with
  the restore marker that a rerun clears.
  --force: replace the contents of a non-empty target (they are deleted first, after every
  checksum of the archives that replace data was verified).
  --from-s3: first pull s3://BUCKET/[X/]P/ID into DIR/P/ID (every sha256 checked; an identical
  local copy is used as is, a different one is never overwritten), then restore from it.`;

const OPTIONS = {
    backup: { type: "string" },
    volume: { type: "string", multiple: true },
    dir: { type: "string", multiple: true },
    force: { type: "boolean", default: false },
    "helper-image": { type: "string" },
    "from-s3": { type: "string" },
    prefix: { type: "string" },
    "s3-endpoint": { type: "string" },
    region: { type: "string" },
    quiet: { type: "boolean", default: false },
} as const;

interface Job {
    readonly archive: ArchiveEntry;
    readonly target: Source;
}

export const restore: HookCommand = {
    name: "restore",
    summary: "verify checksums, then restore archives into new or empty volumes/dirs (--force to replace)",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, OPTIONS);
        requireFlags(values, "backup DIR/P/ID");
        const specs = [
            ...(values.volume ?? []).map((v) => ({ type: "volume" as const, spec: v })),
            ...(values.dir ?? []).map((v) => ({ type: "dir" as const, spec: v })),
        ];
        if (!specs.length) throw new UsageError("give at least one --volume SRC=TARGET or --dir SRC=PATH");
        const pairs = specs.map(({ type, spec }) => {
            const i = spec.indexOf("=");
            if (i <= 0 || i === spec.length - 1) throw new UsageError(`--${type} ${spec}: expected SRC=TARGET`);
            const target = spec.slice(i + 1);
            return {
                src: spec.slice(0, i),
                target: { type, name: type === "dir" ? path.resolve(target) : target } as Source,
            };
        });
        const keys = pairs.map((p) => `${p.target.type}:${p.target.name}`);
        const dup = keys.find((k, i) => keys.indexOf(k) !== i);
        if (dup) throw new UsageError(`${dup} is the target of two archives`);
        const fromS3 = values["from-s3"];
        if (!fromS3) {
            for (const k of ["prefix", "s3-endpoint", "region"] as const)
                if (values[k] !== undefined) throw new UsageError(`--${k} goes with --from-s3 BUCKET`);
        }
        const dir = path.resolve(values.backup!);
        const [product, id] = [path.basename(path.dirname(dir)), path.basename(dir)];
        return runOperation("restore", async () => {
            let pulled: Record<string, unknown> | undefined;
            if (fromS3) {
                const target = s3TargetFrom({
                    bucket: fromS3,
                    "s3-endpoint": values["s3-endpoint"],
                    region: values.region,
                })!;
                const keyPrefix = backupKeyPrefix(values.prefix ?? "", product, id);
                log("restore", `pulling s3://${fromS3}/${keyPrefix} into ${dir}`);
                const r = await pullBackup({
                    target,
                    keyPrefix,
                    toDir: path.dirname(path.dirname(dir)),
                    quiet: values.quiet === true,
                });
                target.client.destroy();
                if (r.backup !== dir)
                    throw new HookError(
                        `s3://${fromS3}/${keyPrefix} holds backup ${r.product}/${r.id}, not ${product}/${id}; it was pulled to ${r.backup}`,
                    );
                pulled = { bucket: r.bucket, key: r.key, bytes: r.bytes, alreadyPresent: r.alreadyPresent };
            }
            const result = await runRestore(dir, pairs, values.force === true, helperImage(values["helper-image"]));
            return pulled ? { ...result, pulled } : result;
        });
    },
};

async function runRestore(
    dir: string,
    pairs: { src: string; target: Source }[],
    force: boolean,
    image: string,
): Promise<Record<string, unknown>> {
    const m = readBackupArg(dir);
    const jobs: Job[] = pairs.map(({ src, target }) => {
        const archive = m.archives.find((a) => a.name === src) ?? m.archives.find((a) => a.source.name === src);
        if (!archive)
            throw new HookError(
                `backup ${dir} has no archive ${src}; it has: ${m.archives.map((a) => a.name).join(", ")}`,
            );
        return { archive, target };
    });

    // 1. Every archive's size, before any volume is looked at or written (a truncated or missing
    // archive is refused here; the sha256s are compared in step 3, or before it, see there).
    const problems = await checkArchives(
        dir,
        jobs.map((j) => j.archive),
        { hash: false },
    );
    if (problems.length) throw new HookError(`refusing to restore: ${problems.join("; ")}. No volume was touched`);

    // 2. Every target, read-only: refuse before the first write if any one is not ours to fill.
    const states: TargetState[] = [];
    const refusals: string[] = [];
    const done = readState<Record<string, string>>(RESTORED_FILE, {});
    const already: Record<string, unknown>[] = [];
    for (const j of [...jobs]) {
        const what = `${j.target.type} ${j.target.name}`;
        // A killed run's helper may still be extracting: stop it before looking.
        await removeLeftoverHelper(restoreHelperName(j.target));
        const st = await inspectTarget(j.target, image);
        if (!st.missing && !st.marker && st.entries > 0 && done[restoredKey(j.target)] === markerFor(m, j.archive)) {
            // Restored from this very archive by an earlier run: redone only if it changed since.
            const got = await countFiles(j.target, image);
            if (got.files === j.archive.files && got.bytes === j.archive.sourceBytes) {
                log(
                    "restore",
                    `${what} already holds ${j.archive.name} of ${m.product}/${m.id} (restored earlier, ${got.files} files); not redone`,
                );
                already.push({
                    archive: j.archive.name,
                    target: j.target.name,
                    type: j.target.type,
                    files: got.files,
                    bytes: got.bytes,
                    existing: true,
                });
                jobs.splice(jobs.indexOf(j), 1);
                continue;
            }
        }
        states.push(st);
        if (j.target.type === "volume" && !st.missing) {
            const users = (await docker(["ps", "--filter", `volume=${j.target.name}`, "--format", "{{.Names}}"])).stdout
                .split("\n")
                .filter(Boolean);
            if (users.length) {
                refusals.push(`${what} is in use by the running container ${users.join(", ")}: stop it first`);
                continue;
            }
        }
        if (st.missing || (st.entries === 0 && !st.marker)) continue;
        if (st.marker === markerFor(m, j.archive)) continue; // our own half-finished restore: redone
        if (force) continue;
        refusals.push(
            st.marker
                ? `${what} holds an unfinished restore of another backup (${st.marker})`
                : `${what} is not empty (${st.entries} entries)`,
        );
    }
    if (refusals.length)
        throw new HookError(
            `refusing to restore: ${refusals.join("; ")}. Restore into a new or empty target, or pass --force to replace its contents. No volume was touched`,
        );

    // 3. Extract, each archive read once and hashed as it streams in. A new or empty target (or one
    // holding our own unfinished restore) holds nothing to lose: a damaged archive only leaves it
    // emptied with its marker. --force deletes someone's data first, so those archives' checksums
    // are all compared before the first write. Markers stay in every target until all are done,
    // so a rerun redoes all of them.
    const clears = jobs.map((_, i) => !states[i].missing && (states[i].entries > 0 || !!states[i].marker));
    const replacing = jobs.filter((j, i) => clears[i] && states[i].marker !== markerFor(m, j.archive));
    const bad = await checkArchives(
        dir,
        replacing.map((j) => j.archive),
    );
    if (bad.length) throw new HookError(`refusing to restore: ${bad.join("; ")}. No volume was touched`);
    const results: Record<string, unknown>[] = [];
    for (const [i, j] of jobs.entries()) {
        const st = states[i];
        if (st.missing && j.target.type === "volume") {
            await docker(["volume", "create", "--label", `upshift.restored-from=${m.product}/${m.id}`, j.target.name]);
        }
        const clear = clears[i];
        if (clear)
            log(
                "restore",
                `clearing ${j.target.type} ${j.target.name} (${st.marker === markerFor(m, j.archive) ? "an unfinished restore of this backup" : "--force"})`,
            );
        let got: { files: number; bytes: number };
        try {
            got = await extractArchive(path.join(dir, j.archive.file), j.archive.sha256, j.target, image, {
                clear,
                marker: markerFor(m, j.archive),
                helperZstd: st.helperZstd,
                label: `restore ${j.archive.name} -> ${j.target.name}`,
                compression: j.archive.compression,
            });
        } catch (e) {
            if (e instanceof DamagedArchiveError) throw new HookError(`restore failed: ${e.message}`);
            await refuseLinksOut(dir, j.archive.name, j.target, image);
            throw e;
        }
        // The archive matched its checksum; this catches a tar that silently skipped files.
        if (got.files !== j.archive.files || got.bytes !== j.archive.sourceBytes) {
            await refuseLinksOut(dir, j.archive.name, j.target, image);
            throw new HookError(
                `${j.target.type} ${j.target.name} has ${got.files} files / ${got.bytes} bytes after the restore, the backup recorded ${j.archive.files} / ${j.archive.sourceBytes}; run restore again`,
            );
        }
        results.push({
            archive: j.archive.name,
            target: j.target.name,
            type: j.target.type,
            files: got.files,
            bytes: got.bytes,
            created: st.missing,
            cleared: clear,
        });
    }
    await clearMarkers(
        jobs.map((j) => j.target),
        image,
    );
    for (const j of jobs) done[restoredKey(j.target)] = markerFor(m, j.archive);
    writeState(RESTORED_FILE, done);
    return { backup: dir, id: m.id, product: m.product, version: m.version, restored: [...already, ...results] };
}

/**
 * After a failed extraction: an archive whose entries went through links that point out of the
 * target (hooks/volumes/links.ts) is a bad --backup (exit 2), named as such. Its target keeps its marker.
 */
async function refuseLinksOut(dir: string, archive: string, target: Source, image: string): Promise<void> {
    const out = await linksPointingOut(target, image);
    if (!out.length) return;
    throw new UsageError(
        `--backup ${dir}: archive ${archive} holds links that point out of the target (${out.join(", ")}) and entries under them: ` +
            `not a backup of a volume. Refused: nothing outside ${target.type} ${target.name} was written (the restore helper mounts only it), and it keeps its restore marker`,
    );
}

/** Finished restores, by target (the state directory, hooks/core/stop-restart.ts). */
const RESTORED_FILE = "restored.json";
const restoredKey = (t: Source) => `${process.env.DOCKER_HOST || "local"} ${t.type}:${t.name}`;

/** What a target's marker says: which archive of which backup is being restored into it. */
function markerFor(m: Manifest, a: ArchiveEntry): string {
    return `${m.product}/${m.id}/${a.name} sha256:${a.sha256}`;
}
