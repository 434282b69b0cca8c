// `npm run bench:downtime`: how long CVAT's app is not serving during 2.2.0 -> 2.3.0 (Postgres
// 10 -> 15, played by 15 -> 17), upshift's `pulumi up` on the REAL Pulumi engine against the
// vendor's procedure (upgrade guide, "How to upgrade PostgreSQL database base image": pg_dumpall,
// `docker compose down`, a new cvat_db volume, `docker compose up -d cvat_db`, psql < dump,
// `docker compose up -d`) on data made the same way, in the same run (issue 13, item 5).
// The e2e suite's harness runs the engine (tests/e2e/harness.ts: the real CLI, stand-in providers
// and app images); the vendor's compose file is played by `docker run` of the same catalog
// services, started in parallel as compose does.
//
// Serving, sampled every ~0.1 s from the host: cvat_server, cvat_ui and traefik run, cvat_server's
// own health check passes (the stand-in's: cvat_db accepts TCP), and the app's database answers a
// query on its data over TCP with the app's password. Downtime: the sum of the intervals where a
// sample failed (each edge at the midpoint between two samples). Which hook ran during each
// outage comes from the host's process list, sampled with it.
//
// Env: BENCH_DOWNTIME_PG_MB (256), BENCH_DOWNTIME_MEDIA_MB (256), BENCH_RUNS (1 per side),
// BENCH_OUT (docs/benchmarks.md: only the downtime section and its target row are rewritten).
// DOCKER_HOST as for the hooks. Images: as the e2e suite's (.ci/build-images.sh).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cvatCatalog } from "../catalog/cvat";
import { ServiceSpec } from "../catalog/types";
import { initCvatStack, names, PASSWORD, tryClean } from "../tests/e2e/cvat-fixture";
import { buildStandins, CVAT_IMAGES, E2EStack } from "../tests/e2e/harness";
import { loadavg, median, mib, run, secs, seedSql, timed } from "./lib";

const ROOT = path.join(__dirname, "..");
const envNum = (k: string, def: number) => {
    const v = process.env[k];
    const n = v === undefined || v === "" ? def : Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${k}=${v}: expected a positive number`);
    return Math.round(n);
};
const PG_MB = envNum("BENCH_DOWNTIME_PG_MB", 256);
const MEDIA_MB = envNum("BENCH_DOWNTIME_MEDIA_MB", 256);
const RUNS = envNum("BENCH_RUNS", 1);
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(ROOT, "docs", "benchmarks.md"));
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-bench-downtime-"));
const TABLES = ["engine_job", "engine_labeledshape", "engine_labeledshapeattributeval"];
const WEB = ["cvat_server", "cvat_ui", "traefik"];

const say = (m: string) => process.stderr.write(`bench-downtime: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
    t: number;
    ok: boolean;
    ops: string[];
}
interface Outage {
    start: number;
    end: number;
    seconds: number;
    byOp: Record<string, number>;
}
interface SideResult {
    downtime: number;
    outages: Outage[];
    total: number;
    sampleMs: number;
    extra: Record<string, unknown>;
}

/** The app serves: web containers run, the server's health check passes, its database answers on its data. */
async function serving(): Promise<boolean> {
    const st = await timed("docker", ["inspect", "-f", "{{.State.Running}}", ...WEB], { check: false });
    if (
        st.code !== 0 ||
        st.stdout
            .trim()
            .split("\n")
            .some((l) => l.trim() !== "true")
    )
        return false;
    const hc = await timed("docker", ["exec", "cvat_server", "python3", "manage.py", "health_check"], { check: false });
    if (hc.code !== 0) return false;
    const q = await timed(
        "docker",
        [
            "exec",
            "-e",
            "PGPASSWORD",
            "cvat_db",
            "psql",
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-U",
            "root",
            "-d",
            "cvat",
            "-c",
            "SELECT count(*) FROM engine_job",
        ],
        { check: false, env: { PGPASSWORD: PASSWORD } },
    );
    return q.code === 0 && Number(q.stdout.trim()) > 0;
}

/** This checkout's hooks running now (`<ROOT>/bin/upshift <op>` on the process list; other checkouts' are not ours). */
const HOOK = new RegExp(
    `${path.join(ROOT, "bin", "upshift").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}'? ([a-z-]+)`,
    "g",
);
function runningOps(): string[] {
    const ps = run("ps", ["-eo", "args"], { check: false });
    return [...new Set([...ps.matchAll(HOOK)].map((m) => m[1]))];
}

function probe(): { stop: () => Promise<Sample[]> } {
    const samples: Sample[] = [];
    let stopped = false;
    const loop = (async () => {
        while (!stopped) {
            const ops = runningOps();
            const ok = await serving();
            samples.push({ t: Date.now(), ok, ops });
            await sleep(50);
        }
    })();
    return {
        stop: async () => {
            stopped = true;
            await loop;
            return samples;
        },
    };
}

function outages(samples: Sample[]): Outage[] {
    const out: Outage[] = [];
    for (let i = 0; i < samples.length; i++) {
        if (samples[i].ok) continue;
        const j0 = i;
        while (i < samples.length && !samples[i].ok) i++;
        const start = j0 > 0 ? (samples[j0 - 1].t + samples[j0].t) / 2 : samples[j0].t;
        const end = i < samples.length ? (samples[i - 1].t + samples[i].t) / 2 : samples[i - 1].t;
        const byOp: Record<string, number> = {};
        // Each failing sample stands for the time from the midpoint with its predecessor to the one with its successor.
        const mid = (k: number) =>
            k <= 0
                ? samples[0].t
                : k >= samples.length
                  ? samples[samples.length - 1].t
                  : (samples[k - 1].t + samples[k].t) / 2;
        for (let k = j0; k < i; k++) {
            const dt = (mid(k + 1) - mid(k)) / 1000;
            const label = samples[k].ops.length
                ? samples[k].ops.join("+")
                : "(no hook: the engine replaces containers, or compose/psql)";
            byOp[label] = (byOp[label] ?? 0) + dt;
        }
        out.push({ start, end, seconds: (end - start) / 1000, byOp });
        if (i >= samples.length) throw new Error("the app was not serving when the probe stopped");
    }
    return out;
}

/** cvat_db accepts TCP connections (the init server is socket-only). */
async function dbReady(): Promise<void> {
    for (let i = 0; i < 3000; i++) {
        if (
            (
                await timed(
                    "docker",
                    ["exec", "cvat_db", "pg_isready", "-q", "-h", "127.0.0.1", "-U", "root", "-d", "cvat"],
                    { check: false },
                )
            ).code === 0
        )
            return;
        await sleep(100);
    }
    throw new Error("cvat_db did not become ready");
}

function psql(sql: string): string {
    return run(
        "docker",
        ["exec", "-i", "cvat_db", "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "root", "-d", "cvat"],
        { input: sql },
    ).trim();
}

/** Row count and a content checksum per table, and the media's sha256 list: the bench's own means. */
function contents(): string {
    const db = TABLES.map(
        (t) => `${t} ${psql(`SELECT count(*) || ':' || sum(hashtext(x::text)::bigint) FROM ${t} x`)}`,
    ).join("\n");
    const media = run("docker", [
        "run",
        "--rm",
        "-v",
        "cvat_cvat_data:/d:ro",
        "upshift-test/tools:latest",
        "sh",
        "-c",
        "cd /d && find . -type f | sort | xargs sha256sum | sha256sum",
    ]);
    return `${db}\nmedia ${media.trim()}`;
}

/** CVAT 2.2.0 by the engine, then the same data each time: PG_MB of annotations in cvat_db, MEDIA_MB of media in cvat_data. */
async function deploy220(stack: E2EStack): Promise<{ dbBytes: number }> {
    await initCvatStack(stack);
    await stack.up();
    await dbReady();
    const s = seedSql(PG_MB);
    const file = (n: string, text: string) => {
        const f = path.join(WORK, n);
        fs.writeFileSync(f, text);
        return f;
    };
    await Promise.all(
        [s.a, s.b].map((sql, i) =>
            timed("sh", [
                "-c",
                `docker exec -i cvat_db psql -X -q -v ON_ERROR_STOP=1 -U root -d cvat < "$0"`,
                file(`seed-${i}.sql`, sql),
            ]),
        ),
    );
    psql(s.post);
    run("docker", [
        "run",
        "--rm",
        "-v",
        "cvat_cvat_data:/d",
        "upshift-test/tools:latest",
        "sh",
        "-c",
        `mkdir -p /d/data/1/raw && for i in $(seq 1 ${Math.max(1, Math.round(MEDIA_MB / 8))}); do head -c 8388608 /dev/urandom > /d/data/1/raw/$i.jpg; done`,
    ]);
    return { dbBytes: Number(psql("SELECT pg_database_size('cvat')")) };
}

/** `docker run` of one catalog service as compose would create it (the vendor's `docker compose up -d`). */
function composeRun(s: ServiceSpec, volumes: Record<string, string>): string[] {
    const args = ["run", "-d", "--name", s.name, "--network", "upshift_cvat", "--restart", "unless-stopped"];
    for (const a of new Set([s.name, ...(s.aliases ?? [])])) args.push("--network-alias", a);
    for (const [k, v] of Object.entries(s.env ?? {})) {
        if (typeof v === "string") args.push("-e", `${k}=${v}`);
        else if (v.secret === "dbPassword") args.push("-e", k); // from this process's environment, never argv
    }
    for (const m of s.mounts ?? [])
        args.push("-v", `${volumes[m.volume] ?? `cvat_${m.volume}`}:${m.target}${m.readOnly ? ":ro" : ""}`);
    for (const b of s.binds ?? []) args.push("-v", `${b.source}:${b.target}${b.readOnly ? ":ro" : ""}`);
    for (const p of s.ports ?? []) args.push("-p", `127.0.0.1:${p.external}:${p.internal}`);
    for (const [k, v] of Object.entries(s.labels ?? {})) args.push("--label", `${k}=${v}`);
    for (const t of s.tmpfs ?? []) args.push("--tmpfs", t);
    if (s.init) args.push("--init");
    if (s.user) args.push("--user", s.user);
    if (s.healthcheck) {
        const [kind, ...rest] = s.healthcheck.test;
        args.push("--health-cmd", kind === "CMD-SHELL" ? rest[0] : rest.join(" "));
        if (s.healthcheck.interval) args.push("--health-interval", s.healthcheck.interval);
        if (s.healthcheck.timeout) args.push("--health-timeout", s.healthcheck.timeout);
        if (s.healthcheck.retries) args.push("--health-retries", String(s.healthcheck.retries));
        if (s.healthcheck.startPeriod) args.push("--health-start-period", s.healthcheck.startPeriod);
    }
    const entry = s.entrypoint ?? [];
    if (entry.length) args.push("--entrypoint", entry[0]);
    args.push(CVAT_IMAGES[s.image] ?? s.image, ...entry.slice(1), ...(s.command ?? []));
    return args;
}

/** The vendor's procedure, timed by its own steps; the probe gives the downtime. */
async function vendorSide(): Promise<SideResult> {
    const stack = new E2EStack(`downtime-vendor-${process.pid}`);
    try {
        const { dbBytes } = await deploy220(stack);
        const before = contents();
        const env = { PGPASSWORD: PASSWORD, CVAT_POSTGRES_PASSWORD: PASSWORD, POSTGRES_PASSWORD: PASSWORD };
        const dump = path.join(WORK, "cvat.db.dump");
        const steps: Record<string, number> = {};
        const p = probe();
        const t0 = Date.now();
        let t = Date.now();
        const lap = (k: string) => {
            steps[k] = (Date.now() - t) / 1000;
            t = Date.now();
        };
        await sleep(1000);
        t = Date.now();
        // 3. docker exec -it cvat_db pg_dumpall > cvat.db.dump (the app still serving)
        await timed("sh", ["-c", `docker exec cvat_db pg_dumpall -U root > "$0"`, dump]);
        lap("pg_dumpall (app serving)");
        // 4. docker compose down (stop, then remove, every container in parallel)
        const old = names("2.2.0");
        await Promise.all(old.map((c) => timed("docker", ["stop", c])));
        await timed("docker", ["rm", ...old]);
        lap("docker compose down");
        // 5. docker volume rm cvat_cvat_db: kept here (the comparison's own safety), a new volume instead; 7. up -d cvat_db
        const volumes = { cvat_db: "cvat_cvat_db_vendor" };
        const svc = cvatCatalog.services("2.3.0");
        await timed(
            "docker",
            composeRun(
                svc.find((s) => s.name === "cvat_db")!,
                volumes,
            ),
            { env },
        );
        await dbReady();
        lap("docker compose up -d cvat_db (initdb)");
        // 8. docker exec -i cvat_db psql -q -d postgres < cvat.db.dump
        await timed("sh", ["-c", `docker exec -i cvat_db psql -q -U root -d postgres < "$0" >/dev/null 2>&1`, dump]);
        lap("psql < dump");
        // 9. docker compose up -d
        await Promise.all(
            svc.filter((s) => s.name !== "cvat_db").map((s) => timed("docker", composeRun(s, volumes), { env })),
        );
        lap("docker compose up -d");
        while (!(await serving())) await sleep(50);
        lap("until serving");
        const total = (Date.now() - t0) / 1000;
        await sleep(1000);
        const samples = await p.stop();
        const after = contents();
        if (after !== before) throw new Error(`the vendor's procedure lost data:\n${before}\n---\n${after}`);
        const o = outages(samples);
        return {
            downtime: o.reduce((n, x) => n + x.seconds, 0),
            outages: o,
            total,
            sampleMs: sampleMs(samples),
            extra: { steps, dbBytes },
        };
    } finally {
        tryClean();
        stack.cleanup();
    }
}

/** `pulumi config set cvat:version 2.3.0 && pulumi up` on the real engine. */
async function upshiftSide(): Promise<SideResult> {
    const stack = new E2EStack(`downtime-upshift-${process.pid}`);
    try {
        const { dbBytes } = await deploy220(stack);
        const before = contents();
        await stack.config("cvat:version", "2.3.0");
        const p = probe();
        await sleep(1000);
        const up = await stack.up();
        while (!(await serving())) await sleep(50);
        await sleep(1000);
        const samples = await p.stop();
        const after = contents();
        if (after !== before) throw new Error(`upshift lost data:\n${before}\n---\n${after}`);
        const state = await stack.exported();
        const migrate = state.deployment.resources?.find((r) => r.urn.endsWith("-pg-migrate"));
        const report = JSON.parse(
            String(migrate?.outputs?.stdout ?? "{}")
                .trim()
                .split("\n")
                .pop() || "{}",
        ) as Record<string, unknown>;
        const analyze = state.deployment.resources?.find((r) => r.urn.endsWith("-pg-analyze"));
        const analyzed = JSON.parse(
            String(analyze?.outputs?.stdout ?? "{}")
                .trim()
                .split("\n")
                .pop() || "{}",
        ) as Record<string, unknown>;
        const o = outages(samples);
        assertEqual(
            names("2.3.0").filter(
                (n) => run("docker", ["inspect", "-f", "{{.State.Running}}", n], { check: false }).trim() !== "true",
            ),
            [],
        );
        return {
            downtime: o.reduce((n, x) => n + x.seconds, 0),
            outages: o,
            total: up.seconds,
            sampleMs: sampleMs(samples),
            extra: { dbBytes, pgMigrate: report, pgAnalyze: analyzed },
        };
    } finally {
        await stack.teardown().catch(() => undefined);
        tryClean();
        stack.cleanup();
    }
}

function assertEqual(got: string[], want: string[]): void {
    if (JSON.stringify(got) !== JSON.stringify(want))
        throw new Error(`not running after the upgrade: ${got.join(", ")}`);
}

function sampleMs(samples: Sample[]): number {
    return median(samples.slice(1).map((s, i) => s.t - samples[i].t));
}

const fmt = (byOp: Record<string, number>) =>
    Object.entries(byOp)
        .map(([k, v]) => `${k} ${secs(v)}`)
        .join(", ");

function section(
    v: SideResult[],
    u: SideResult[],
    load: string[],
    started: Date,
    wall: number,
): { text: string; row: string } {
    const vd = median(v.map((x) => x.downtime)),
        ud = median(u.map((x) => x.downtime));
    const ratio = ud / vd;
    const lines = [
        "<!-- downtime:begin (bench/downtime.ts writes this section) -->",
        "## 4. Downtime of the CVAT 2.2.0 → 2.3.0 upgrade (real Pulumi engine)",
        "",
        `Generated by \`npm run bench:downtime\` (bench/downtime.ts) on ${started.toISOString().slice(0, 16).replace("T", " ")} UTC in ${(wall / 60000).toFixed(1)} min, ` +
            `${RUNS} run(s) per side, vendor first. Data, made the same way for both sides: cvat_db with ${PG_MB} MiB of annotations ` +
            `(${mib(Number(v[0].extra.dbBytes))} database, 3 tables, 7 indexes; BENCH_DOWNTIME_PG_MB) and ${MEDIA_MB} MiB of media in cvat_data ` +
            `(BENCH_DOWNTIME_MEDIA_MB). Postgres 15 plays CVAT's 10 and 17 its 15 (upshift-test/postgres:15/17), the app images are the e2e suite's stand-ins ` +
            `and the engine's docker and command providers its stand-in plugins (tests/e2e/standins/README.md). Load average before each side: ${load.join("; ")}.`,
        "",
        '- vendor (upgrade guide, "How to upgrade PostgreSQL database base image"): `docker exec cvat_db pg_dumpall > cvat.db.dump` while the app serves; ' +
            "`docker compose down`; a new cvat_db volume (the guide deletes the old one; kept here); `docker compose up -d cvat_db`; " +
            "`docker exec -i cvat_db psql -q -d postgres < cvat.db.dump`; `docker compose up -d` (played by `docker run` of the same catalog services, in parallel). " +
            "No backup of the volumes and no verification: the guide recommends a backup first and leaves it to the operator.",
        "- upshift: `pulumi config set cvat:version 2.3.0 && pulumi up` (preflight, restore point of every volume with the containers stopped, " +
            "its verification with the app serving again, prune, pg-migrate by pg_upgrade with its verification, the engine's container replacements, start, " +
            "then pg-analyze: vacuumdb --analyze-in-stages on the new cvat_db while the app serves).",
        `- serving: cvat_server, cvat_ui and traefik run, cvat_server's health check passes and cvat_db answers a query on the app's data over TCP with its password; sampled every ${Math.round(median([...v, ...u].map((x) => x.sampleMs)))} ms (median).`,
        "",
        "| | runs: downtime (s) | median downtime | whole procedure (median) |",
        "|---|---|---|---|",
        `| vendor | ${v.map((x) => x.downtime.toFixed(1)).join(", ")} | ${secs(vd)} | ${secs(median(v.map((x) => x.total)))} |`,
        `| upshift | ${u.map((x) => x.downtime.toFixed(1)).join(", ")} | ${secs(ud)} | ${secs(median(u.map((x) => x.total)))} (\`pulumi up\`) |`,
        "",
        `Ratio upshift / vendor downtime: **${ratio.toFixed(2)}x** (vendor / upshift ${(vd / ud).toFixed(2)}x). Nothing lost on either side: the row count and a content checksum of every table and the sha256 of every media file are equal before and after.`,
        "",
        "Where the downtime goes (first run of each side):",
        "",
        `- vendor: ${Object.entries(v[0].extra.steps as Record<string, number>)
            .map(([k, x]) => `${k} ${secs(x)}`)
            .join(", ")}; outages: ${v[0].outages.map((o) => `${secs(o.seconds)}`).join(" + ")}.`,
        `- upshift: ${u[0].outages.length} outage(s): ${u[0].outages.map((o) => `${secs(o.seconds)} (${fmt(o.byOp)})`).join("; ")}.`,
        `- upshift's pg-migrate, by its own report (seconds): ${JSON.stringify(u[0].extra.pgMigrate ? { method: (u[0].extra.pgMigrate as Record<string, unknown>).method, seconds: (u[0].extra.pgMigrate as Record<string, unknown>).seconds, times: (u[0].extra.pgMigrate as Record<string, unknown>).times } : {})}; ` +
            `then, the app serving, pg-analyze ${u[0].extra.pgAnalyze && (u[0].extra.pgAnalyze as Record<string, unknown>).seconds !== undefined ? `${(u[0].extra.pgAnalyze as Record<string, unknown>).seconds} s` : "(no report)"}.`,
        "",
        "What is left, and what would close the gap (the vendor's procedure takes no restore point and verifies nothing, so its downtime is its dump's restore alone):",
        "",
        "- The restore point (first outage) archives every volume with every container stopped, so that the database files and the media are one consistent state. " +
            "A shorter window needs a backup in two passes (the big file volumes while the app serves, then a short incremental pass while it is stopped), which changes " +
            "the archive format (two streams per volume) and its verification: not done.",
        "- pg-migrate's own share of the second outage is mostly its proof: the counts and content hashes of every table on both sides and pg_amcheck of every index " +
            "(`checksOld`, `checksNew`, `amcheck` above); without them the pg_upgrade itself is `pgUpgrade` (the copy with initdb meanwhile, and one pg_upgrade run whose " +
            "consistency checks come first). The statistics are gathered after `start`, while the app serves (the `pg-analyze` step), so they are no longer downtime.",
        "- The engine's share (no hook running): the old cvat_db is deleted, the new one created, and the provider waits for its first health check, which Docker runs only " +
            "after the 5 s interval (Docker 20.10 has no start interval); then the app containers are replaced. A shorter interval would change cvat_db's healthcheck, which " +
            "replaces the container on every existing stack (replaceOnChanges), so it is not changed here. Not waiting for cvat_db's health at all (`wait`, updated in place) " +
            "would let the app containers be created at once, but the fault matrix (tests/e2e/faults.e2e.test.ts) relies on that wait, and the `start` step then would be " +
            "the only wait for the database: not changed either.",
        "- Writers are stopped all at once (hooks/core/stop-restart.ts), so each stop costs the longest single `docker stop`, not the sum.",
        "<!-- downtime:end -->",
    ];
    const row = `| downtime of CVAT 2.2.0 → 2.3.0 on the real engine ≤ 1.0x the vendor's | ${secs(ud)} vs ${secs(vd)}: ${ratio.toFixed(2)}x (${PG_MB} MiB database, ${MEDIA_MB} MiB media; section 4) | ${ratio <= 1 ? "**met**" : "**missed**"} |`;
    return { text: lines.join("\n"), row };
}

function writeReport(text: string, row: string): void {
    let doc = fs.readFileSync(OUT, "utf8");
    doc = doc.replace(/^\| downtime of CVAT 2\.2\.0 → 2\.3\.0 on the real engine.*$/m, row);
    const begin = doc.indexOf("<!-- downtime:begin");
    const end = doc.indexOf("<!-- downtime:end -->");
    if (begin >= 0 && end > begin) doc = doc.slice(0, begin) + text + doc.slice(end + "<!-- downtime:end -->".length);
    else {
        const at = doc.indexOf("\n## Machine");
        doc = at >= 0 ? `${doc.slice(0, at)}\n${text}\n${doc.slice(at)}` : `${doc}\n${text}\n`;
    }
    fs.writeFileSync(OUT, doc);
}

async function main(): Promise<void> {
    if (!process.env.DOCKER_HOST) say("DOCKER_HOST is not set: using the default socket");
    const started = new Date();
    const t0 = Date.now();
    buildStandins(["cvat-2.2.0", "cvat-2.3.0", "static"]);
    const v: SideResult[] = [],
        u: SideResult[] = [],
        load: string[] = [];
    for (let i = 0; i < RUNS; i++) {
        load.push(`vendor ${loadavg()}`);
        v.push(await vendorSide());
        say(`vendor run ${i + 1}: downtime ${secs(v.at(-1)!.downtime)} (${JSON.stringify(v.at(-1)!.extra.steps)})`);
        load.push(`upshift ${loadavg()}`);
        u.push(await upshiftSide());
        say(
            `upshift run ${i + 1}: downtime ${secs(u.at(-1)!.downtime)}: ${u
                .at(-1)!
                .outages.map((o) => `${secs(o.seconds)} (${fmt(o.byOp)})`)
                .join("; ")}`,
        );
    }
    const { text, row } = section(v, u, load, started, Date.now() - t0);
    fs.writeFileSync(path.join(WORK, "downtime.json"), JSON.stringify({ vendor: v, upshift: u }, null, 2));
    writeReport(text, row);
    say(`wrote ${OUT} (raw: ${path.join(WORK, "downtime.json")})`);
}

main().catch((e: Error) => {
    process.stderr.write(`bench-downtime: ${e.stack ?? e.message}\n`);
    tryClean();
    process.exitCode = 1;
});
