// hooks/postgres/: Postgres's own steps, for any product on Postgres: pg-dump, pg-restore,
// pg-migrate (pg_upgrade in upgrade.ts, dump and restore as the fallback) and pg-analyze, over the
// counts, hashes and psql sessions of common.ts. They use core/ only, never another database's folder.
//
// `upshift pg-migrate`: moves a running Postgres of the old major onto a NEW volume of the new
// major: by pg_upgrade on a copy (upgrade.ts) when an upgrade image is given and its --check
// accepts the cluster; otherwise pg-dump (with the new major's tools), initdb + bulk-load-tuned
// server in a temporary container, pg-restore. Then verify, clean stop, sync. The old container
// and volume are not written.
//
// Rerun safety: <work>/migrate-state.json names the volume this operation filled and the system
// identifier of the cluster it initialised there (read back from the volume's pg_control; Docker's
// volume CreatedAt is not stable). A volume that is ours and unfinished is wiped and
// refilled from a fresh dump (the tuned server may have crashed with fsync off); a finished one
// is not redone; a non-empty volume that is not ours is refused.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { HookCommand, UsageError } from "../core/command";
import { docker } from "../core/docker";
import { dumpPostgres, stopWriters } from "./pg-dump";
import {
    CheckLevel,
    fail,
    imagePgdata,
    info,
    MigrationTarget,
    parseCheckLevel,
    queryJson,
    requireRunning,
    totals,
    VERIFY_USAGE,
    volumeEmpty,
    volumeExists,
    volumeSysid,
    writeJsonAtomic,
} from "./common";
import { AMCHECK_MODES, AmcheckMode, upgradePostgres } from "./upgrade";
import { restorePostgres, RestoreResult } from "./pg-restore";
import { parseOptions, requireFlags, runOperation, splitList } from "../core/report";

const OP = "pg-migrate";

export interface MigrateOptions extends MigrationTarget {
    plain?: boolean;
    jobs?: number;
    /** Non-secret env of the new container's first start (e.g. POSTGRES_HOST_AUTH_METHOD=trust as the product's compose sets it). */
    initEnv: string[];
    /** "auto" (default): pg_upgrade when an upgrade image is given and its --check accepts, else dump/restore. */
    method?: "auto" | "upgrade" | "dump";
    /** Helper image with both majors' binaries (catalog/pgUpgrade.ts has the defaults per catalog pair). */
    upgradeImage?: string;
    verify?: CheckLevel;
    /** pg_amcheck on the new cluster after pg_upgrade (default "indexes"). */
    amcheck?: AmcheckMode;
    /** pg_upgrade: leave the statistics to `upshift pg-analyze` after the app serves again. */
    deferAnalyze?: boolean;
}

interface MigrateState {
    format: "upshift-pg-migrate-state/1";
    volume: string;
    /** Of the cluster initdb made on the volume; unset while initialising. */
    systemIdentifier?: string;
    state: "initializing" | "restoring" | "done";
    result?: Record<string, unknown>;
}

/**
 * The bulk load runs without crash safety (fsync, full-page writes, WAL for replicas): a crash
 * means a redo from the dump, which is kept. The clean stop at the end checkpoints everything,
 * then the volume is synced to disk.
 */
export const BULK_LOAD_SETTINGS = [
    "fsync=off",
    "full_page_writes=off",
    "synchronous_commit=off",
    "wal_level=minimal",
    "max_wal_senders=0",
    "max_wal_size=16GB",
    "checkpoint_timeout=1h",
    "maintenance_work_mem=1GB",
    "autovacuum=off",
];

async function waitReady(name: string, user: string, timeoutS = 300): Promise<void> {
    const until = Date.now() + timeoutS * 1000;
    for (;;) {
        const st = await docker(["container", "inspect", "--format", "{{.State.Running}}", name], { check: false });
        if (st.stdout.trim() !== "true") {
            const logs = await docker(["logs", "--tail", "20", name], { check: false });
            fail(
                `the new Postgres container ${name} stopped during start: ${(logs.stdout + logs.stderr).trim().split("\n").slice(-5).join(" | ")}`,
            );
        }
        // 127.0.0.1 only answers once the entrypoint's initdb and its socket-only first start are over.
        const r = await docker(["exec", name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", user, "-d", "postgres"], {
            check: false,
        });
        if (r.code === 0) return;
        if (Date.now() > until) fail(`the new Postgres container ${name} was not ready after ${timeoutS} s`);
        await new Promise((res) => setTimeout(res, 500));
    }
}

/**
 * pg_upgrade (postgres/upgrade.ts) when an upgrade image is given and its --check accepts the old
 * cluster; otherwise, or with --method dump, dump and restore. The result says which, and why.
 */
export async function migratePostgres(o: MigrateOptions): Promise<Record<string, unknown>> {
    const method = o.method ?? "auto";
    let fallback: string | undefined;
    if (method !== "dump") {
        if (!o.upgradeImage) {
            if (method === "upgrade")
                fail("--method upgrade needs --upgrade-image (a helper image with both majors' binaries)");
            fallback = "no pg_upgrade helper image (--upgrade-image)";
        } else {
            const r = await upgradePostgres({
                container: o.container,
                newImage: o.newImage,
                newVolume: o.newVolume,
                work: o.work,
                user: o.user,
                stop: o.stop,
                upgradeImage: o.upgradeImage,
                verify: o.verify ?? "hash",
                amcheck: o.amcheck ?? "indexes",
                analyze: !o.deferAnalyze,
                jobs: o.jobs,
                op: OP,
            });
            if ("result" in r) return r.result;
            if (method === "upgrade") fail(`pg_upgrade cannot be used (--method upgrade): ${r.refused}`);
            fallback = r.refused;
        }
        info(OP, `falling back to dump and restore: ${fallback}`);
    }
    const res = await dumpRestore(o);
    return { ...res, method: "dump", ...(fallback ? { fallback } : {}) };
}

async function dumpRestore(o: MigrateOptions): Promise<Record<string, unknown>> {
    const started = Date.now();
    const work = path.resolve(o.work);
    fs.mkdirSync(work, { recursive: true, mode: 0o700 });
    const sf = path.join(work, "migrate-state.json");
    const prev: MigrateState | undefined = fs.existsSync(sf)
        ? (JSON.parse(fs.readFileSync(sf, "utf8")) as MigrateState)
        : undefined;
    const pgdata = await imagePgdata(o.newImage);
    const exists = await volumeExists(o.newVolume);
    // Ours: the cluster we initialised is still the one in the volume (or initdb had not finished).
    const ours =
        !!prev &&
        exists &&
        prev.volume === o.newVolume &&
        (prev.systemIdentifier
            ? (await volumeSysid(o.newVolume, o.newImage)) === prev.systemIdentifier
            : prev.state === "initializing");
    if (ours && prev!.state === "done") {
        info(OP, `${o.newVolume} was already migrated (${sf}); nothing to do`);
        return { ...prev!.result, alreadyDone: true };
    }
    await requireRunning(o.container);
    // Refuse a volume with someone else's data before anything is stopped or dumped.
    if (exists && !ours && !(await volumeEmpty(o.newVolume, o.newImage))) {
        fail(`volume ${o.newVolume} is not empty and was not filled by upshift (${sf}): refusing to write into it`);
    }

    const writers = await stopWriters(OP, o.stop);
    const temp = `upshift-pg-migrate-${o.newVolume.replace(/[^a-zA-Z0-9_.-]/g, "_")}`;
    let tempStarted = false;
    try {
        const dumpDir = path.join(work, "dump");
        const m = await dumpPostgres({
            container: o.container,
            out: dumpDir,
            image: o.newImage,
            user: o.user,
            stop: [],
            jobs: o.jobs,
            plain: o.plain,
            verify: o.verify,
            op: OP,
        });

        if (!exists) {
            await docker(["volume", "create", "--label", "upshift.pg-migrate=true", o.newVolume]);
        } else if (ours) {
            info(OP, `wiping ${o.newVolume}: an unfinished migration of ours`);
            await docker([
                "run",
                "--rm",
                "--label",
                "upshift.helper=true",
                "--network",
                "none",
                "-v",
                `${o.newVolume}:/v`,
                "--entrypoint",
                "find",
                o.newImage,
                "/v",
                "-mindepth",
                "1",
                "-delete",
            ]);
        }
        const st: MigrateState = { format: "upshift-pg-migrate-state/1", volume: o.newVolume, state: "initializing" };
        writeJsonAtomic(sf, st);

        // A leftover temporary container of an earlier attempt (recognised by its label) goes.
        const old = await docker(
            ["container", "inspect", "--format", '{{index .Config.Labels "upshift.pg-migrate-temp"}}', temp],
            { check: false },
        );
        if (old.code === 0) {
            if (old.stdout.trim() !== o.newVolume) fail(`a container named ${temp} exists and is not upshift's`);
            await docker(["rm", "-f", temp]);
        }
        // The init password is the operator's PGPASSWORD, or a random one: the restored roles
        // (pg_dumpall --globals-only) then bring the old cluster's passwords anyway.
        const initPassword = process.env.PGPASSWORD || crypto.randomBytes(24).toString("base64url");
        // Our helpers log in with it (the new cluster may ask for a password on 127.0.0.1).
        process.env.PGPASSWORD = initPassword;
        const run = [
            "run",
            "-d",
            "--name",
            temp,
            "--label",
            `upshift.pg-migrate-temp=${o.newVolume}`,
            "--network",
            "none",
            "-v",
            `${o.newVolume}:${pgdata}`,
            "-e",
            "POSTGRES_PASSWORD",
            "-e",
            `POSTGRES_USER=${o.user}`,
            "--shm-size",
            "256m",
        ];
        for (const e of o.initEnv) run.push("-e", e);
        run.push(o.newImage, "postgres", ...BULK_LOAD_SETTINGS.flatMap((s) => ["-c", s]));
        info(
            OP,
            `starting ${o.newImage} on ${o.newVolume} as ${temp} (bulk-load settings: ${BULK_LOAD_SETTINGS.join(" ")})`,
        );
        await docker(run, { env: { POSTGRES_PASSWORD: initPassword } });
        tempStarted = true;
        await waitReady(temp, o.user);
        st.systemIdentifier = await queryJson<string>(
            { container: temp, image: o.newImage, user: o.user },
            "postgres",
            "SELECT to_json(system_identifier::text) FROM pg_control_system()",
        );
        st.state = "restoring";
        writeJsonAtomic(sf, st);

        const r: RestoreResult = await restorePostgres({
            container: temp,
            from: dumpDir,
            image: o.newImage,
            user: o.user,
            jobs: o.jobs,
            op: OP,
        });

        // A clean (fast) shutdown writes a checkpoint: the data is complete on the volume.
        info(OP, `stopping ${temp} cleanly`);
        await docker(["stop", "--signal", "SIGINT", "--time", "600", temp]);
        const code = (await docker(["container", "inspect", "--format", "{{.State.ExitCode}}", temp])).stdout.trim();
        if (code !== "0") fail(`the new Postgres container ${temp} did not stop cleanly (exit ${code})`);
        await docker(["rm", temp]);
        tempStarted = false;
        // fsync was off: flush the volume's files to disk before calling it done.
        await docker([
            "run",
            "--rm",
            "--label",
            "upshift.helper=true",
            "--network",
            "none",
            "-v",
            `${o.newVolume}:/v`,
            "--entrypoint",
            "sync",
            o.newImage,
            "-f",
            "/v",
        ]);

        const tot = totals(m.databases);
        const result = {
            container: o.container,
            newVolume: o.newVolume,
            newImage: o.newImage,
            mode: m.mode,
            from: m.source.serverVersion,
            databases: r.databases,
            tables: r.tables,
            rows: r.rows,
            dumpBytes: tot.bytes,
            dumpSeconds: m.seconds,
            restoreSeconds: r.seconds,
            seconds: Math.round((Date.now() - started) / 100) / 10,
            verified: true,
        };
        st.state = "done";
        st.result = result;
        writeJsonAtomic(sf, st);
        return result;
    } catch (e) {
        // The old cluster was only read: writers go back to it; the next run redoes everything.
        if (tempStarted) await docker(["rm", "-f", temp], { check: false });
        throw await writers.restartAfter(e);
    }
}

export const pgMigrate: HookCommand = {
    name: OP,
    summary:
        "move a running Postgres onto a new volume of the new major: pg_upgrade (--check first), else dump/restore; verified; old volume untouched",
    usage:
        "usage: upshift pg-migrate --container OLD --new-image IMG --new-volume VOL --work DIR [--user U] [--stop C1,C2] [--jobs N]\n" +
        "                          [--upgrade-image IMG] [--method auto|upgrade|dump] [--verify L] [--amcheck indexes|all|off] [--defer-analyze]\n" +
        "                          [--init-env K=V]... [--plain]\n" +
        "  --upgrade-image  helper with both majors' binaries (same C library as IMG): pg_upgrade --check, then --link on a copy\n" +
        "                in the new volume, verify, pg_amcheck, vacuumdb --analyze-in-stages; dump/restore when --check refuses\n" +
        "  --method      auto (default: pg_upgrade if it can, else dump/restore), upgrade (fail instead of falling back), dump\n" +
        VERIFY_USAGE +
        "\n" +
        "  --amcheck     pg_amcheck of the upgraded cluster: indexes (default: every B-tree), all (and the heaps), off\n" +
        "  --defer-analyze  pg_upgrade: no vacuumdb --analyze-in-stages here (JSON analyzed: false); `upshift pg-analyze --work DIR`\n" +
        "                runs it on the new server once the app serves again. Dump/restore analyzes anyway\n" +
        "  --plain       dump/restore: the vendor's procedure (pg_dumpall | psql) instead of pg_dump -Fd / pg_restore -j\n" +
        "  --init-env    dump/restore: non-secret env for the new container's initdb (as the product's compose sets it)\n" +
        "  Env: PGPASSWORD (superuser password; also the new cluster's initial one).",
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" },
            "new-image": { type: "string" },
            "new-volume": { type: "string" },
            work: { type: "string" },
            user: { type: "string" },
            stop: { type: "string", multiple: true },
            jobs: { type: "string" },
            plain: { type: "boolean" },
            "init-env": { type: "string", multiple: true },
            "upgrade-image": { type: "string" },
            method: { type: "string" },
            verify: { type: "string" },
            amcheck: { type: "string" },
            "defer-analyze": { type: "boolean" },
        });
        const method = values.method ?? "auto";
        if (!["auto", "upgrade", "dump"].includes(method))
            throw new UsageError(`--method ${method}: expected auto, upgrade or dump`);
        if (values.amcheck !== undefined && !(AMCHECK_MODES as readonly string[]).includes(values.amcheck)) {
            throw new UsageError(`--amcheck ${values.amcheck}: expected ${AMCHECK_MODES.join(", ")}`);
        }
        if (values.plain && method !== "dump")
            throw new UsageError("--plain is a dump/restore mode: add --method dump");
        requireFlags(values, "container", "new-image", "new-volume", "work");
        const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
        if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0))
            throw new UsageError("--jobs must be a positive integer");
        const initEnv = values["init-env"] ?? [];
        for (const e of initEnv) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) throw new UsageError(`--init-env ${e}: expected KEY=VALUE`);
            if (/PASSWORD|SECRET|TOKEN/i.test(e.split("=")[0]))
                throw new UsageError(
                    "--init-env: secrets go through the environment (PGPASSWORD), not the command line",
                );
        }
        const o: MigrateOptions = {
            container: values.container!,
            newImage: values["new-image"]!,
            newVolume: values["new-volume"]!,
            work: values.work!,
            user: values.user ?? "postgres",
            stop: splitList(values.stop),
            plain: values.plain,
            jobs,
            initEnv,
            method: method as MigrateOptions["method"],
            upgradeImage: values["upgrade-image"],
            verify: parseCheckLevel(values.verify),
            amcheck: values.amcheck as AmcheckMode | undefined,
            deferAnalyze: values["defer-analyze"],
        };
        return runOperation(OP, () => migratePostgres(o));
    },
};
