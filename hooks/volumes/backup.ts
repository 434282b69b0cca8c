// hooks/volumes/: volume backups. The archive format (archive.ts: one tar stream per volume, zstd,
// hashed as it is written) and its manifest (manifest.ts); the operations backup, restore, verify
// (with the test-restore checks of verify-checks.ts, Postgres's in verify-postgres.ts), preflight,
// list and copy-dir. They use core/, offsite/ (restores and lists from S3) and postgres/ (the row
// census of a database volume).
//
// `upshift backup`: volumes and host directories to `<to>/<product>/<id>/` as .tar.zst archives
// with a manifest. Written under `<id>.partial` and renamed into place only when complete, so a
// directory without `.partial` is always a whole backup (docs/hooks-cli.md).
import * as fs from "fs";
import * as path from "path";
import { fsyncDir } from "../core/atomic-file";
import { HookCommand, UsageError } from "../core/command";
import { archiveFile, archiveSource, Source } from "./archive";
import { compression } from "../core/settings";
import { stoppedByUpshift, Writers } from "../core/stop-restart";
import { containerState, docker, helperImage, startContainer, volumeExists } from "../core/docker";
import { assertNotInterrupted, onInterrupt } from "../core/interrupt";
import {
    ArchiveEntry,
    archiveName,
    Manifest,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    readManifest,
    writeManifest,
} from "./manifest";
import { DATABASES_SQL, dataMount, psqlJson, TABLE_COUNTS_SQL } from "../postgres/common";
import { formatBytes } from "../core/progress";
import type { PgCounts } from "./verify-postgres";
import { HookError, log, parseOptions, requireFlags, runOperation, splitList } from "../core/report";

const USAGE = `usage: upshift backup --product P --version V --id ID --to DIR (--volume NAME | --dir PATH)...
                      [--stop C1,C2] [--pg-census C] [--label L] [--helper-image IMG]
  Archives each volume/directory (tar in a helper container, zstd -T0, sha256) into DIR/P/ID/.
  --stop: containers stopped first and always started again, also when the backup fails.
  --pg-census C: a Postgres container among --stop whose data directory is one of the volumes: it
      stops last, after its rows are counted per table with the others stopped; the counts go into
      the manifest, and verify --test-restore must find them in the restored copy.`;

const OPTIONS = {
    product: { type: "string" },
    version: { type: "string" },
    id: { type: "string" },
    to: { type: "string" },
    volume: { type: "string", multiple: true },
    dir: { type: "string", multiple: true },
    stop: { type: "string", multiple: true },
    "pg-census": { type: "string", multiple: true },
    label: { type: "string" },
    "helper-image": { type: "string" },
} as const;

// Safe as one path segment: ids and product names become directory names.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

export const backup: HookCommand = {
    name: "backup",
    summary: "archive volumes/dirs (tar, zstd -T0, sha256) with a manifest; --stop restarts always",
    usage: USAGE,
    run(argv) {
        const { values } = parseOptions(argv, OPTIONS);
        requireFlags(values, "product", "version", "id", "to");
        for (const k of ["product", "id"] as const) {
            if (!SEGMENT.test(values[k]!))
                throw new UsageError(
                    `--${k} ${JSON.stringify(values[k])} must be letters, digits and _ . + - (it names a directory)`,
                );
        }
        const sources: Source[] = [
            ...(values.volume ?? []).map((name): Source => ({ type: "volume", name })),
            ...(values.dir ?? []).map((name): Source => ({ type: "dir", name: path.resolve(name) })),
        ];
        if (!sources.length) throw new UsageError("give at least one --volume NAME or --dir PATH");
        const names = sources.map((s) => archiveName(s.type, s.name));
        const dup = names.find((n, i) => names.indexOf(n) !== i);
        if (dup) throw new UsageError(`two sources would both be archived as ${dup}; back them up separately`);
        const stop = splitList(values.stop);
        const census = splitList(values["pg-census"]);
        const unstopped = census.filter((c) => !stop.includes(c));
        if (unstopped.length)
            throw new UsageError(
                `--pg-census ${unstopped.join(",")}: also give it in --stop (its data is archived only once it is stopped)`,
            );
        return runOperation("backup", () =>
            runBackup({
                product: values.product!,
                version: values.version!,
                id: values.id!,
                to: path.resolve(values.to!),
                sources,
                stop,
                census,
                label: values.label,
                image: helperImage(values["helper-image"]),
            }),
        );
    },
};

interface BackupArgs {
    product: string;
    version: string;
    id: string;
    to: string;
    sources: Source[];
    stop: string[];
    census: string[];
    label?: string;
    image: string;
}

async function runBackup(a: BackupArgs): Promise<Record<string, unknown>> {
    const final = path.join(a.to, a.product, a.id);
    const partial = `${final}.partial`;
    if (fs.existsSync(path.join(final, MANIFEST_FILE))) {
        // A finished step is not redone (design.md): the backup under this id is already whole.
        const m = readManifest(final);
        // Only this very backup is reused: the same id, product, version and label (an attempt's
        // ids are its own, plan/index.ts attemptNumber); anything else there is refused, not trusted.
        const theirs = { id: m.id, product: m.product, version: m.version, label: m.label };
        const ours = { id: a.id, product: a.product, version: a.version, label: a.label };
        if (JSON.stringify(theirs) !== JSON.stringify(ours)) {
            throw new HookError(
                `${final} already holds another backup (${JSON.stringify(theirs)}), not ${JSON.stringify(ours)}; ` +
                    "move it away or choose another --id; nothing was changed",
            );
        }
        log("backup", `${final} is already complete (created ${m.createdAt}); not redone`);
        return summary(final, m, { existing: true });
    }
    // Check what can be checked before anything is stopped.
    for (const s of a.sources) {
        if (s.type === "volume" && !(await volumeExists(s.name)))
            throw new HookError(`volume ${s.name} does not exist on this Docker host; check --volume`);
    }
    fs.rmSync(partial, { recursive: true, force: true });
    try {
        // The product's directory and the backup's are the user's alone, whatever the umask was
        // when they were made (archives hold password hashes and app keys; finding 7).
        fs.mkdirSync(path.dirname(partial), { recursive: true, mode: 0o700 });
        fs.chmodSync(path.dirname(partial), 0o700);
        fs.mkdirSync(partial, { mode: 0o700 });
    } catch (e) {
        throw new HookError(
            `cannot create ${partial}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; check --to and its permissions`,
        );
    }

    // A killed earlier run of this step may have left writers stopped: they are taken over (resume).
    const writers = new Writers("backup", a.stop, { resume: true });
    // Interrupted: the half-written archives go too (a .partial is never a backup, and fills the disk).
    const dropPartial = onInterrupt(async () => {
        fs.rmSync(partial, { recursive: true, force: true });
    });
    let failure: unknown;
    let manifest: Manifest | undefined;
    const started = Date.now();
    try {
        // The databases stop last: their rows are counted once nothing else writes (verify compares).
        await writers.stop(a.stop.filter((c) => !a.census.includes(c)));
        const counted = a.census.length ? await countRows(a.census, a.sources) : undefined;
        await writers.stop(a.census);
        const archives: ArchiveEntry[] = [];
        const c = compression();
        for (const s of a.sources) {
            const name = archiveName(s.type, s.name);
            const file = archiveFile(name, c);
            const r = await archiveSource(s, path.join(partial, file), a.image, `backup ${name}`, c);
            const how = r.compression === "zstd" ? `zstd in ${r.compressedIn}` : "not compressed";
            log(
                "backup",
                `${name}: ${r.files} files, ${formatBytes(r.sourceBytes)} -> ${formatBytes(r.bytes)} (${how}, ${r.written === "direct" ? "written directly by the helper" : "streamed through Docker"})`,
            );
            archives.push({
                name,
                source: { type: s.type, name: s.name },
                file,
                bytes: r.bytes,
                sourceBytes: r.sourceBytes,
                files: r.files,
                sha256: r.sha256,
                // Omitted for zstd, the default: such a manifest stays what older versions wrote and read.
                ...(r.compression === "zstd" ? {} : { compression: r.compression }),
            });
        }
        assertNotInterrupted("publishing the backup");
        manifest = {
            format: MANIFEST_FORMAT,
            id: a.id,
            product: a.product,
            version: a.version,
            ...(a.label ? { label: a.label } : {}),
            createdAt: new Date().toISOString(),
            archives,
            ...(counted ? { checks: { postgres: { archives: counted } } } : {}),
        };
        writeManifest(partial, manifest);
        fs.renameSync(partial, final);
        fsyncDir(path.dirname(final));
    } catch (e) {
        failure = e;
        fs.rmSync(partial, { recursive: true, force: true });
    } finally {
        // Always start again what we stopped, whatever happened above (issue 3).
        dropPartial();
        const notStarted = await writers.restart();
        if (notStarted.length) {
            const why = failure ? `backup failed (${(failure as Error).message}) and ` : "backup is complete but ";
            failure = new HookError(
                `${why}these containers could not be started again: ${notStarted.join(", ")}; start them by hand`,
            );
        }
    }
    if (failure) throw failure;
    return summary(final, manifest!, {
        seconds: Math.round((Date.now() - started) / 100) / 10,
        stopped: writers.stopped,
    });
}

/**
 * The rows of every table of every database of each census container, keyed by the archive that
 * holds its data directory (the manifest's `checks.postgres`, hooks/volumes/verify-postgres.ts). One that a
 * killed earlier run of this step left stopped is started for the count (nothing else runs).
 */
async function countRows(
    containers: readonly string[],
    sources: readonly Source[],
): Promise<Record<string, { databases: PgCounts }>> {
    const out: Record<string, { databases: PgCounts }> = {};
    for (const c of containers) {
        assertNotInterrupted(`counting the rows of ${c}`);
        const st = await containerState(c);
        if (!st) throw new HookError(`--pg-census ${c}: no such container; check --pg-census`);
        if (st.status !== "running") {
            // Taken over by the stop that follows (Writers resume): this step's own earlier run stopped it.
            if (stoppedByUpshift(c)?.by !== "backup")
                throw new HookError(
                    `--pg-census ${c} is ${st.status}: start it, or leave --pg-census out; nothing was archived`,
                );
            log("backup", `starting ${c} to count its rows (an interrupted run left it stopped; nothing else runs)`);
            const why = await startContainer(c);
            if (why !== undefined)
                throw new HookError(
                    `--pg-census ${c}: could not start it to count its rows (${why}); nothing was archived`,
                );
        }
        const user = await postgresUser(c);
        const who = `the Postgres in ${c}`;
        const q = <T>(db: string, sql: string, what: string) =>
            psqlJson<T>(c, user, db, sql, who, what, { socket: true });
        const datadir = await whileStarting(() =>
            q<string>("postgres", "SELECT to_json(current_setting('data_directory'))", "report its data directory"),
        );
        const mount = await dataMount(c, datadir);
        const archive = archiveName(mount.type === "volume" ? "volume" : "dir", mount.source);
        if (mount.sub || !sources.some((s) => archiveName(s.type, s.name) === archive)) {
            throw new HookError(
                `--pg-census ${c}: its data directory ${datadir} is ${mount.sub ? `under ${mount.sub} of` : "on"} ${mount.source}, which this backup does not archive as a whole; ` +
                    "give that volume with --volume, or leave --pg-census out; nothing was archived",
            );
        }
        const databases: PgCounts = {};
        for (const db of await q<string[]>("template1", DATABASES_SQL, "list its databases")) {
            databases[db] = {
                tables: await q<Record<string, number>>(
                    db,
                    TABLE_COUNTS_SQL,
                    `count the rows of database ${JSON.stringify(db)}`,
                ),
            };
        }
        const rows = Object.values(databases).reduce(
            (n, d) => n + Object.values(d.tables).reduce((x, y) => x + y, 0),
            0,
        );
        log(
            "backup",
            `${c}: ${Object.keys(databases).length} databases, ${rows} rows counted (recorded for the verify of ${archive})`,
        );
        out[archive] = { databases };
    }
    return out;
}

/** The role the image made at initdb: the container's POSTGRES_USER, else the official images' default. */
async function postgresUser(container: string): Promise<string> {
    const r = await docker(["container", "inspect", "--format", "{{json .Config.Env}}", container]);
    const env = (JSON.parse(r.stdout) as string[] | null) ?? [];
    return env.find((e) => e.startsWith("POSTGRES_USER="))?.slice("POSTGRES_USER=".length) || "postgres";
}

/** Retries `f` while the server is still starting (at most a minute); any other error at once. */
async function whileStarting<T>(f: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
        try {
            return await f();
        } catch (e) {
            if (
                i >= 120 ||
                !/starting up|shutting down|Connection refused|No such file or directory|is not running/i.test(
                    (e as Error).message,
                )
            )
                throw e;
            await new Promise((res) => setTimeout(res, 500));
        }
    }
}

function summary(dir: string, m: Manifest, extra: Record<string, unknown>): Record<string, unknown> {
    return {
        backup: dir,
        id: m.id,
        product: m.product,
        version: m.version,
        createdAt: m.createdAt,
        archives: m.archives.map((x) => ({
            name: x.name,
            bytes: x.bytes,
            sourceBytes: x.sourceBytes,
            files: x.files,
            sha256: x.sha256,
        })),
        ...extra,
    };
}
