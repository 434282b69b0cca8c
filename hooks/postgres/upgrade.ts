// The pg_upgrade path of `upshift pg-migrate` (the default for a Postgres major change): the old
// cluster's files, copied by a helper container into the NEW volume (the old volume is mounted
// read-only, so it is never written), upgraded there by the new major's pg_upgrade, its
// consistency checks (those of `--check`) first, in the same run. The copy is ours and expendable, and it is on the new volume's own filesystem, so
// pg_upgrade runs with --link on it: the copy is the one pass over the data. Then the new cluster
// is started in a temporary container and verified against the old one (row counts and content
// hashes of every table, computed in parallel; pg_amcheck's B-tree checks, which find what a C
// library or collation change breaks), and `vacuumdb --analyze-in-stages` gives the planner its
// statistics, as the PostgreSQL docs recommend after pg_upgrade
// (https://www.postgresql.org/docs/17/pgupgrade.html, step "Statistics"), here or, with
// analyze: false, by `upshift pg-analyze` once the app serves again (postgres/pg-analyze.ts).
// initdb of the new cluster runs while the old one is copied.
//
// The helper image has both majors' binaries and the C library of the product's image (a default
// per catalog pair: catalog/pgUpgrade.ts). When the checks refuse (an extension or a data type the
// new major does not take, a missing helper, no binaries of the old major in it), the answer is
// `refused` with the reason, nothing has been written anywhere but our own new volume (which is
// emptied again) and the old container is running again: pg-migrate falls back to dump/restore.
//
// Rerun safety: <work>/upgrade-state.json names the volume and the system identifier of the
// cluster pg_upgrade made there; an unfinished volume of ours is emptied and redone, a finished
// one is not redone, a non-empty volume that is not ours is refused. The old server is stopped
// through the ledger of stopped containers (hooks/core/stop-restart.ts): a run killed after stopping it
// (SIGKILL, a dead machine) leaves it stopped, and the rerun starts it again before anything else,
// its helpers (labelled with their owner) removed first.
import * as fs from "fs";
import * as path from "path";
import { clearStopped, recordStopped, stoppedByUpshift } from "../core/stop-restart";
import { containerState, docker, ownerLabels, startContainer } from "../core/docker";
import { onInterrupt } from "../core/interrupt";
import { stopWriters } from "./pg-dump";
import {
    CheckLevel,
    collectChecksParallel,
    dataMount,
    DbChecks,
    diffChecks,
    fail,
    hostCpus,
    info,
    listDatabases,
    PgTarget,
    queryJson,
    quoteIdent,
    requireRunning,
    runTool,
    serverVersionNum,
    writeJsonAtomic,
    conninfo,
    MigrationTarget,
    imageEnv,
    imagePgdata,
    volumeEmpty,
    volumeExists,
    volumeSysid,
} from "./common";

export interface UpgradeOptions extends MigrationTarget {
    /** Image with the old and the new major's binaries (and pg_upgrade). */
    upgradeImage: string;
    verify: CheckLevel;
    /** pg_amcheck on the new cluster: "indexes" (default: every B-tree), "all" (and the heaps), "off". */
    amcheck: AmcheckMode;
    /** False: leave vacuumdb --analyze-in-stages to `upshift pg-analyze` once the app serves (default true). */
    analyze?: boolean;
    jobs?: number;
    op: string;
}

interface UpgradeState {
    format: "upshift-pg-upgrade-state/1";
    volume: string;
    systemIdentifier?: string;
    state: "upgrading" | "verifying" | "done";
    result?: Record<string, unknown>;
}

export type AmcheckMode = "indexes" | "all" | "off";
export const AMCHECK_MODES: readonly AmcheckMode[] = ["indexes", "all", "off"];

export type UpgradeOutcome = { result: Record<string, unknown> } | { refused: string };

const STATE_FILE = "upgrade-state.json";
/** Exit code of the helper script when pg_upgrade cannot be used (the reason is on its output). */
const REFUSED = 3;

/**
 * Runs in the helper container as root: /old is the old cluster's mount (read-only), /v the new
 * volume. Finds the two majors' bindirs (Debian and tianon/postgres-upgrade:
 * /usr/lib/postgresql/<M>/bin; pgautoupgrade: /usr/local-pg<M>/bin for the old ones, /usr/local/bin
 * for its target), copies the cluster (its WAL only from the last checkpoint's segment), initdb's the new one like the old (superuser, encoding,
 * locale, checksums, WAL segment size) meanwhile, pg_upgrade --link on the copy (its checks first), carries over
 * pg_hba.conf and pg_ident.conf, moves the new cluster to the volume's top and gives it to the
 * new image's postgres user.
 */
const HELPER_SCRIPT = String.raw`set -eu
runas() {
  if command -v gosu >/dev/null 2>&1; then gosu postgres "$@";
  elif command -v su-exec >/dev/null 2>&1; then su-exec postgres "$@";
  else setpriv --reuid=postgres --regid=postgres --init-groups "$@"; fi
}
bindir() {
  for d in /usr/lib/postgresql/$1/bin /usr/local-pg$1/bin /usr/local/bin /usr/bin; do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ] && "$d/postgres" -V 2>/dev/null | grep -Eq "[^0-9.]$1([.a-z]|$)"; then echo "$d"; return 0; fi
  done
  return 1
}
refuse() { echo "upshift-refused: $*"; exit 3; }
t0=$(date +%s%N)
lap() { t1=$(date +%s%N); echo "upshift: $1 $(( (t1 - t0) / 1000000 )) ms"; t0=$t1; }
src=/old$UP_SUB
[ -s "$src/PG_VERSION" ] || { echo "no PG_VERSION in the old cluster's directory $UP_SUB" >&2; exit 1; }
old_major=$(cat "$src/PG_VERSION")
ob=$(bindir "$old_major") || refuse "the helper image has no PostgreSQL $old_major binaries"
nb=$(bindir "$UP_NEW_MAJOR") || refuse "the helper image has no PostgreSQL $UP_NEW_MAJOR binaries"
[ -x "$nb/pg_upgrade" ] || refuse "the helper image has no pg_upgrade in $nb"
echo "upshift: old binaries $ob, new $nb"
find /v -mindepth 1 -delete
mkdir -p /v/.upshift-upgrade/new
chown postgres:postgres /v/.upshift-upgrade /v/.upshift-upgrade/new
cd /v/.upshift-upgrade
# initdb needs nothing of the old cluster: it runs while the copy is made (both write only /v).
# shellcheck disable=SC2086
( rc=0; runas "$nb/initdb" -D new -U "$UP_SUPER" -E "$UP_ENCODING" --lc-collate="$UP_COLLATE" --lc-ctype="$UP_CTYPE" $UP_INITDB_ARGS --no-sync >initdb.log 2>&1 || rc=$?
  echo "$rc" >initdb.rc ) &
initdb_pid=$!
# Everything but the WAL, which after the clean stop is needed only from the last checkpoint's
# segment on (pg_upgrade starts the old server on the copy; the other segments are old or recycled).
redo=$("$ob/pg_controldata" "$src" | sed -n 's/^Latest checkpoint.s REDO WAL file: *//p')
[ -n "$redo" ] && [ -f "$src/pg_wal/$redo" ] || { wait "$initdb_pid" || :; echo "cannot find the old cluster's last checkpoint WAL segment ($redo)" >&2; exit 1; }
mkdir old
find "$src" -mindepth 1 -maxdepth 1 ! -name pg_wal ! -name postmaster.pid -exec cp -a {} old/ \; || { wait "$initdb_pid" || :; exit 1; }
mkdir -p old/pg_wal/archive_status
chmod 700 old/pg_wal
cp -a "$src/pg_wal/$redo" old/pg_wal/
chown -R postgres:postgres old
chmod 700 old
lap copy
wait "$initdb_pid" || :
[ "$(cat initdb.rc 2>/dev/null)" = 0 ] || { cat initdb.log >&2; exit 1; }
lap initdb
# One pg_upgrade run: its first phase is the consistency checks that --check runs, and it changes
# nothing before they pass ("Performing Upgrade" follows them: src/bin/pg_upgrade/pg_upgrade.c).
# A failure before that heading is the refusal that --check would have given.
if ! runas "$nb/pg_upgrade" -b "$ob" -B "$nb" -d old -D new -U "$UP_SUPER" --link --no-sync -j "$UP_JOBS" >upgrade.log 2>&1; then
  if grep -q '^Performing Upgrade' upgrade.log; then tail -n 40 upgrade.log >&2; exit 1; fi
  grep -v '^$' upgrade.log | tail -n 15
  for f in $(find new -path '*pg_upgrade_output.d*' -name '*.txt' 2>/dev/null); do echo "--- $(basename "$f"):"; head -n 20 "$f"; done
  refuse "pg_upgrade's consistency checks (as --check) refused the old cluster (above)"
fi
lap pg_upgrade
cp old/pg_hba.conf old/pg_ident.conf new/
echo "listen_addresses = '*'" >> new/postgresql.conf
rm -rf old
for f in new/* new/.[!.]*; do if [ -e "$f" ]; then mv "$f" /v/; fi; done
cd /v
rm -rf /v/.upshift-upgrade
chown -R "$UP_UID:$UP_GID" /v
chmod 700 /v
sync -f /v
lap "move+sync"
echo "upshift: upgraded"`;

async function imageAvailable(image: string): Promise<string | undefined> {
    if ((await docker(["image", "inspect", "--format", "{{.Id}}", image], { check: false })).code === 0)
        return undefined;
    const p = await docker(["pull", "--quiet", image], { check: false });
    if (p.code === 0) return undefined;
    return `the pg_upgrade helper image ${image} is not on the Docker host and cannot be pulled (${p.stderr.trim().split("\n").pop()})`;
}

/** The new image's major (its PG_MAJOR, as the official images set it, or `postgres -V`). */
async function newMajor(image: string): Promise<string> {
    const env = await imageEnv(image);
    const v = env.find((e) => e.startsWith("PG_MAJOR="));
    if (v) return v.slice("PG_MAJOR=".length);
    const r = await docker(["run", "--rm", "--network", "none", "--entrypoint", "postgres", image, "-V"]);
    const m = /\)\s+(\d+)/.exec(r.stdout);
    if (!m) fail(`cannot tell the PostgreSQL major of ${image} (postgres -V: ${r.stdout.trim()})`);
    return m[1];
}

/** uid:gid of the image's postgres user (the new cluster's files are given to it). */
async function postgresIds(image: string): Promise<{ uid: string; gid: string }> {
    const r = await docker([
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "sh",
        image,
        "-c",
        "id -u postgres; id -g postgres",
    ]);
    const [uid, gid] = r.stdout
        .trim()
        .split("\n")
        .map((l) => l.trim());
    if (!/^\d+$/.test(uid ?? "") || !/^\d+$/.test(gid ?? ""))
        fail(`image ${image} has no postgres user (id: ${r.stdout.trim()})`);
    return { uid, gid };
}

interface OldFacts {
    num: number;
    datadir: string;
    superuser: string;
    encoding: string;
    collate: string;
    ctype: string;
    provider: string;
    icu: string | null;
    checksums: string;
    walseg: number;
}

/** What initdb must be told to make a cluster pg_upgrade accepts as the old one's twin. */
async function oldFacts(t: PgTarget): Promise<OldFacts> {
    const v = await serverVersionNum(t);
    const provider = v.num >= 150000 ? "datlocprovider::text" : "'c'";
    const icu = v.num >= 170000 ? "datlocale" : v.num >= 150000 ? "daticulocale" : "NULL::text";
    return queryJson<OldFacts>(
        t,
        "postgres",
        `SELECT json_build_object(
  'num', current_setting('server_version_num')::int, 'datadir', current_setting('data_directory'),
  'superuser', (SELECT rolname FROM pg_roles WHERE oid = 10),
  'encoding', pg_encoding_to_char(d.encoding), 'collate', d.datcollate, 'ctype', d.datctype,
  'provider', ${provider}, 'icu', ${icu}, 'checksums', current_setting('data_checksums'),
  'walseg', pg_size_bytes(current_setting('wal_segment_size')) / 1048576)
FROM pg_database d WHERE d.datname = 'template0'`,
    );
}

async function waitReady(name: string, user: string, timeoutS = 300): Promise<void> {
    const until = Date.now() + timeoutS * 1000;
    for (;;) {
        const st = await docker(["container", "inspect", "--format", "{{.State.Running}}", name], { check: false });
        if (st.stdout.trim() !== "true") {
            const logs = await docker(["logs", "--tail", "20", name], { check: false });
            fail(
                `the upgraded cluster's container ${name} stopped during start: ${(logs.stdout + logs.stderr).trim().split("\n").slice(-5).join(" | ")}`,
            );
        }
        const r = await docker(["exec", name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", user, "-d", "postgres"], {
            check: false,
        });
        if (r.code === 0) return;
        if (Date.now() > until) fail(`the upgraded cluster's container ${name} was not ready after ${timeoutS} s`);
        await new Promise((res) => setTimeout(res, 300));
    }
}

/**
 * pg_amcheck on every database: the B-tree checks of every index ("indexes": what a C library or
 * collation change breaks; the heaps were carried over file by file and every row is read by the
 * row hashes), and with "all" the heap checks too. amcheck is removed again where we added it.
 */
async function amcheck(t: PgTarget, dbs: string[], jobs: number, mode: AmcheckMode): Promise<void> {
    const had = new Map<string, boolean>();
    for (const db of dbs)
        had.set(
            db,
            await queryJson<boolean>(
                t,
                db,
                "SELECT to_json(EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck'))",
            ),
        );
    try {
        // An index pattern alone selects indexes only (pg_amcheck's docs: -i applies only to indexes).
        const only = mode === "indexes" ? ["--index", "*.*"] : [];
        const r = await runTool(t, "pg_amcheck", ["--all", "--install-missing", "--jobs", String(jobs), ...only], {
            check: false,
        });
        if (r.code !== 0)
            fail(
                `pg_amcheck found problems in the upgraded cluster: ${(r.stdout + r.stderr).trim().split("\n").slice(0, 8).join(" | ")}`,
            );
    } finally {
        for (const db of dbs)
            if (!had.get(db))
                await runTool(
                    t,
                    "psql",
                    ["-X", "-q", "-d", conninfo(db), "-c", `DROP EXTENSION IF EXISTS ${quoteIdent("amcheck")}`],
                    { check: false },
                );
    }
}

/**
 * A run killed after it stopped the old server (the ledger says pg-migrate did) left it stopped:
 * its helpers go first (they may still hold the volumes), then it is started again, as it was.
 */
async function resumeOldServer(op: string, o: UpgradeOptions, helpers: string[]): Promise<void> {
    const st = await containerState(o.container);
    if (!st || st.status === "running" || stoppedByUpshift(o.container)?.by !== op) return;
    for (const h of helpers) await docker(["rm", "-f", h], { check: false });
    info(
        op,
        `${o.container} was stopped by an earlier, interrupted run of ${op}; starting it again (its volume was only read)`,
    );
    const why = await startContainer(o.container);
    if (why !== undefined)
        fail(
            `${o.container} was left stopped by an interrupted run and could not be started again (${why}); start it by hand, then rerun`,
        );
    clearStopped([o.container]);
    await waitReady(o.container, o.user);
}

export async function upgradePostgres(o: UpgradeOptions): Promise<UpgradeOutcome> {
    const op = o.op;
    const started = Date.now();
    const work = path.resolve(o.work);
    fs.mkdirSync(work, { recursive: true, mode: 0o700 });
    const sf = path.join(work, STATE_FILE);
    const prev: UpgradeState | undefined = fs.existsSync(sf)
        ? (JSON.parse(fs.readFileSync(sf, "utf8")) as UpgradeState)
        : undefined;
    const exists = await volumeExists(o.newVolume);
    const ours =
        !!prev &&
        exists &&
        prev.volume === o.newVolume &&
        (prev.systemIdentifier
            ? (await volumeSysid(o.newVolume, o.newImage)) === prev.systemIdentifier
            : prev.state === "upgrading");
    if (ours && prev!.state === "done") {
        info(op, `${o.newVolume} was already upgraded (${sf}); nothing to do`);
        return { result: { ...prev!.result, alreadyDone: true } };
    }
    const missing = await imageAvailable(o.upgradeImage);
    if (missing) return { refused: missing };
    const helper = `upshift-pg-upgrade-${o.newVolume.replace(/[^a-zA-Z0-9_.-]/g, "_")}`;
    const temp = `${helper}-verify`;
    await resumeOldServer(op, o, [helper, temp]);
    await requireRunning(o.container);
    if (exists && !ours && !(await volumeEmpty(o.newVolume, o.newImage))) {
        fail(`volume ${o.newVolume} is not empty and was not filled by upshift (${sf}): refusing to write into it`);
    }
    // The checks run by `docker exec` in the old server's own container (read-only queries).
    const t: PgTarget = { container: o.container, image: o.newImage, user: o.user, exec: true };
    const facts = await oldFacts(t);
    const mount = await dataMount(o.container, facts.datadir);
    const major = await newMajor(o.newImage);
    const ids = await postgresIds(o.newImage);
    const pgdata = await imagePgdata(o.newImage);
    const jobs = o.jobs ?? (await hostCpus());
    const initdbArgs: string[] = [];
    if (facts.checksums === "on") initdbArgs.push("--data-checksums");
    if (facts.walseg && facts.walseg !== 16) initdbArgs.push(`--wal-segsize=${facts.walseg}`);
    if (facts.provider === "i" && facts.icu) initdbArgs.push("--locale-provider=icu", `--icu-locale=${facts.icu}`);
    if (initdbArgs.some((a) => /\s/.test(a)) || /\s/.test(facts.encoding))
        fail(`unexpected cluster settings for initdb: ${initdbArgs.join(" ")}`);
    info(
        op,
        `pg_upgrade of ${o.container} (PostgreSQL ${facts.num}, ${facts.datadir} on ${mount.source}) to ${major} with ${o.upgradeImage}; ` +
            `superuser ${facts.superuser}, ${facts.encoding}, ${facts.collate}${initdbArgs.length ? `, ${initdbArgs.join(" ")}` : ""}`,
    );

    const writers = await stopWriters(op, o.stop);
    // The old server goes through the ledger (a killed run's rerun starts it again), and an
    // interruption starts it again at once: its volume was only read.
    let oldStopped = false;
    const startOld = async () => {
        await docker(["rm", "-f", helper], { check: false });
        const why = await startContainer(o.container);
        if (why === undefined) clearStopped([o.container]);
        else info(op, `${o.container} could not be started again: ${why}`);
        oldStopped = false;
        return why === undefined;
    };
    const unregister = onInterrupt(async () => {
        if (oldStopped) await startOld();
    });
    let tempStarted = false;
    const times: Record<string, number> = {};
    const lap = (k: string, t0: number) => {
        times[k] = Math.round((Date.now() - t0) / 100) / 10;
    };
    try {
        // The old side's checks, every writer stopped, just before the server stops.
        let t0 = Date.now();
        const dbs = await listDatabases(t);
        const want: Record<string, DbChecks> = {};
        for (const db of dbs) want[db.name] = await collectChecksParallel(t, db.name, facts.num, o.verify, jobs);
        lap("checksOld", t0);
        t0 = Date.now();
        info(op, `stopping ${o.container} cleanly (pg_upgrade needs the old cluster shut down)`);
        recordStopped([o.container], op);
        oldStopped = true;
        await docker(["stop", "--signal", "SIGINT", "--time", "600", o.container]);
        const code = (
            await docker(["container", "inspect", "--format", "{{.State.ExitCode}}", o.container])
        ).stdout.trim();
        if (code !== "0") fail(`${o.container} did not stop cleanly (exit ${code}); pg_upgrade needs a clean shutdown`);
        if (!exists) await docker(["volume", "create", "--label", "upshift.pg-migrate=true", o.newVolume]);
        const st: UpgradeState = { format: "upshift-pg-upgrade-state/1", volume: o.newVolume, state: "upgrading" };
        writeJsonAtomic(sf, st);
        await docker(["rm", "-f", helper], { check: false });
        const env: Record<string, string> = {
            UP_SUB: mount.sub,
            UP_NEW_MAJOR: major,
            UP_SUPER: facts.superuser,
            UP_ENCODING: facts.encoding,
            UP_COLLATE: facts.collate,
            UP_CTYPE: facts.ctype,
            UP_INITDB_ARGS: initdbArgs.join(" "),
            UP_UID: ids.uid,
            UP_GID: ids.gid,
            UP_JOBS: String(jobs),
        };
        const run = [
            "run",
            "--rm",
            "--name",
            helper,
            ...ownerLabels(),
            "--network",
            "none",
            "--log-driver",
            "none",
            "-v",
            `${mount.source}:/old:ro`,
            "-v",
            `${o.newVolume}:/v`,
            "--user",
            "0:0",
            "--entrypoint",
            "sh",
        ];
        for (const [k, v] of Object.entries(env)) run.push("-e", `${k}=${v}`);
        run.push(o.upgradeImage, "-c", HELPER_SCRIPT);
        const r = await docker(run, { check: false });
        lap("pgUpgrade", t0);
        if (r.code === REFUSED) {
            const reason = r.stdout
                .trim()
                .split("\n")
                .filter((l) => !l.startsWith("upshift: "))
                .join(" | ");
            info(op, `pg_upgrade cannot be used: ${reason}`);
            // Nothing but our new volume was written: empty it again, the old server goes back.
            await docker(
                [
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
                ],
                { check: false },
            );
            if (!exists) await docker(["volume", "rm", o.newVolume], { check: false });
            fs.rmSync(sf, { force: true });
            if (!(await startOld())) fail(`could not start ${o.container} again after pg_upgrade refused`);
            unregister();
            await waitReady(o.container, o.user);
            const notStarted = await writers.restart();
            if (notStarted.length)
                fail(
                    `pg_upgrade refused, and these containers could not be started again: ${notStarted.join(", ")}; start them by hand`,
                );
            return { refused: reason };
        }
        if (r.code !== 0)
            fail(
                `pg_upgrade in ${o.upgradeImage} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split("\n").slice(-8).join(" | ")}`,
            );
        info(op, r.stdout.trim().split("\n").join("; "));

        // The new cluster in a temporary container of the new image: verify, then analyze.
        t0 = Date.now();
        await docker(["rm", "-f", temp], { check: false });
        await docker([
            "run",
            "-d",
            "--name",
            temp,
            ...ownerLabels(),
            "--label",
            `upshift.pg-migrate-temp=${o.newVolume}`,
            "--network",
            "none",
            "--shm-size",
            "256m",
            "-v",
            `${o.newVolume}:${pgdata}`,
            o.newImage,
            "postgres",
            "-c",
            "max_wal_size=4GB",
        ]);
        tempStarted = true;
        await waitReady(temp, o.user);
        const tt: PgTarget = { container: temp, image: o.newImage, user: o.user, exec: true };
        st.systemIdentifier = await queryJson<string>(
            tt,
            "postgres",
            "SELECT to_json(system_identifier::text) FROM pg_control_system()",
        );
        st.state = "verifying";
        writeJsonAtomic(sf, st);
        const server = await serverVersionNum(tt);
        const diffs: string[] = [];
        let tables = 0,
            rows = 0;
        const now = new Set((await listDatabases(tt)).map((d) => d.name));
        for (const db of dbs) {
            if (!now.has(db.name)) {
                diffs.push(`database ${db.name} is missing`);
                continue;
            }
            const got = await collectChecksParallel(tt, db.name, server.num, want[db.name].level ?? "full", jobs);
            diffs.push(...diffChecks(db.name, want[db.name], got));
            for (const c of Object.values(got.tables)) {
                tables++;
                rows += c.rows;
            }
        }
        lap("checksNew", t0);
        if (diffs.length) {
            for (const d of diffs) info(op, `verify: ${d}`);
            fail(
                `verification failed: ${diffs.length} difference(s) from the old cluster: ${diffs.slice(0, 5).join("; ")}${diffs.length > 5 ? "; ..." : ""}`,
            );
        }
        info(
            op,
            `verified: ${dbs.length} databases, ${tables} tables, ${rows} rows: counts and hashes (${want[dbs[0]?.name]?.level ?? o.verify}) equal the old cluster's`,
        );
        if (o.amcheck !== "off") {
            t0 = Date.now();
            await amcheck(
                tt,
                dbs.map((d) => d.name),
                jobs,
                o.amcheck,
            );
            lap("amcheck", t0);
            info(op, `pg_amcheck: no problems in any ${o.amcheck === "all" ? "index or table" : "index"}`);
        }
        const analyzed = o.analyze !== false;
        if (analyzed) {
            t0 = Date.now();
            await runTool(tt, "vacuumdb", ["--all", "--analyze-in-stages", "--jobs", String(jobs), "--quiet"]);
            lap("analyze", t0);
        } else {
            info(op, "statistics deferred: `upshift pg-analyze` gathers them on the new server once the app serves");
        }
        t0 = Date.now();
        await docker(["stop", "--signal", "SIGINT", "--time", "600", temp]);
        const tc = (await docker(["container", "inspect", "--format", "{{.State.ExitCode}}", temp])).stdout.trim();
        if (tc !== "0") fail(`the upgraded cluster's container ${temp} did not stop cleanly (exit ${tc})`);
        await docker(["rm", temp]);
        tempStarted = false;
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
        lap("stop", t0);
        const result = {
            container: o.container,
            newVolume: o.newVolume,
            newImage: o.newImage,
            method: "pg_upgrade",
            upgradeImage: o.upgradeImage,
            from: String(facts.num),
            to: server.text,
            databases: dbs.length,
            tables,
            rows,
            verify: want[dbs[0]?.name]?.level ?? o.verify,
            amcheck: o.amcheck,
            analyzed,
            times,
            oldContainerStopped: true,
            seconds: Math.round((Date.now() - started) / 100) / 10,
            verified: true,
        };
        st.state = "done";
        st.result = result;
        writeJsonAtomic(sf, st);
        // Left stopped on purpose: the engine replaces it next (the `start` step clears the ledger).
        unregister();
        return { result };
    } catch (e) {
        if (tempStarted) await docker(["rm", "-f", temp], { check: false });
        if (oldStopped) {
            info(op, `upgrade failed: starting ${o.container} again (its volume was only read)`);
            // Never silent: the failure names the old server left down too (startOld logged why).
            if (!(await startOld()) && e instanceof Error)
                e.message += `; ${o.container} could not be started again: start it by hand`;
        }
        unregister();
        throw await writers.restartAfter(e);
    }
}
