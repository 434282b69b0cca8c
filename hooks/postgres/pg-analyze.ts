// `upshift pg-analyze`: the planner statistics of a cluster that pg_upgrade made (pg_upgrade
// carries none over), gathered on the product's own server after the app serves again:
// `vacuumdb --all --analyze-in-stages`, whose first stage gives minimal statistics within
// seconds, "so the cluster can be used sooner" (PostgreSQL docs, pg_upgrade, step "Statistics").
// pg-migrate --defer-analyze leaves this to the plan's `pg-analyze` step, after `start`, so the
// statistics are not part of the downtime. It only reads the data and writes statistics.
//
// With --work (pg-migrate's work directory) it runs only when that migration was a pg_upgrade
// that deferred its analyze; after pg-migrate's dump/restore fallback (pg_restore is followed by
// ANALYZE there) it says so and does nothing. No finished migration there is a failure.
import * as fs from "fs";
import * as path from "path";
import { HookCommand, UsageError } from "../core/command";
import { fail, hostCpus, info, listDatabases, PgTarget, requireRunning, runTool } from "./common";
import { parseOptions, requireFlags, runOperation } from "../core/report";

const OP = "pg-analyze";

export interface AnalyzeOptions {
    container: string;
    user: string;
    /** Image whose vacuumdb runs (default: the container's own image). */
    image?: string;
    jobs?: number;
    /** pg-migrate's --work directory. */
    work?: string;
}

interface StateFile {
    state?: string;
    result?: { analyzed?: boolean };
}

function readState(file: string): StateFile | undefined {
    if (!fs.existsSync(file)) return undefined;
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as StateFile;
    } catch (e) {
        return fail(`cannot read ${file}: ${(e as Error).message}`);
    }
}

/** Why there is nothing to do (undefined: analyze), from pg-migrate's state files in WORK. */
function alreadyAnalyzed(work: string): string | undefined {
    const upgrade = readState(path.join(work, "upgrade-state.json"));
    if (upgrade?.state === "done")
        return upgrade.result?.analyzed === false ? undefined : "pg-migrate analyzed the new cluster itself";
    if (readState(path.join(work, "migrate-state.json"))?.state === "done")
        return "pg-migrate moved the data by dump/restore, which analyzed every database";
    return fail(
        `no finished pg-migrate in ${work} (upgrade-state.json / migrate-state.json): run the pg-migrate step first`,
    );
}

export async function analyzePostgres(o: AnalyzeOptions): Promise<Record<string, unknown>> {
    const started = Date.now();
    const skip = o.work ? alreadyAnalyzed(path.resolve(o.work)) : undefined;
    if (skip) {
        info(OP, `nothing to do: ${skip}`);
        return { container: o.container, analyzed: false, skipped: skip };
    }
    const c = await requireRunning(o.container);
    // The server's own vacuumdb by `docker exec`, unless another image's is asked for.
    const t: PgTarget = {
        container: o.container,
        image: o.image ?? c.imageId,
        user: o.user,
        exec: o.image === undefined,
    };
    const jobs = o.jobs ?? (await hostCpus());
    const dbs = await listDatabases(t);
    info(
        OP,
        `vacuumdb --all --analyze-in-stages on ${o.container} (${dbs.length} databases, ${jobs} jobs), the app serving`,
    );
    await runTool(t, "vacuumdb", ["--all", "--analyze-in-stages", "--jobs", String(jobs), "--quiet"]);
    return {
        container: o.container,
        analyzed: true,
        databases: dbs.length,
        seconds: Math.round((Date.now() - started) / 100) / 10,
    };
}

export const pgAnalyze: HookCommand = {
    name: OP,
    summary:
        "gather the planner statistics of an upgraded Postgres (vacuumdb --analyze-in-stages) while the app serves",
    usage:
        "usage: upshift pg-analyze --container C [--user U] [--image IMG] [--jobs N] [--work DIR]\n" +
        "  Runs vacuumdb --all --analyze-in-stages on the running server C (pg_upgrade carries no statistics over).\n" +
        "  --image       image whose vacuumdb runs (default: C's own image)\n" +
        "  --work        pg-migrate's work directory: analyze only if that pg_upgrade deferred it (--defer-analyze);\n" +
        "                nothing to do after its dump/restore; no finished pg-migrate there is a failure\n" +
        "  Env: PGPASSWORD (superuser password). Exit 0 done or nothing to do, 1 failed, 2 usage, 130/143/129 interrupted.",
    run(argv) {
        const { values } = parseOptions(argv, {
            container: { type: "string" },
            user: { type: "string" },
            image: { type: "string" },
            jobs: { type: "string" },
            work: { type: "string" },
        });
        requireFlags(values, "container");
        const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
        if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0))
            throw new UsageError(`--jobs ${values.jobs}: expected a positive integer`);
        if (values.work === "") throw new UsageError("--work DIR: expected a directory");
        return runOperation(OP, () =>
            analyzePostgres({
                container: values.container!,
                user: values.user ?? "postgres",
                image: values.image,
                jobs,
                work: values.work,
            }),
        );
    },
};
