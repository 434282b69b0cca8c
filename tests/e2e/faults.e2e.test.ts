// The fault matrix of issue 12 (docs/reliability.md), under the REAL Pulumi engine (file backend)
// on the REAL Docker engine with REAL Postgres; STAND-INS: the provider plugins and CVAT's app
// images (tests/e2e/standins/README.md). CVAT 2.2.0 -> 2.3.0 with 161,000 rows and 12 MB of media,
// and its rollback: `pulumi up` is killed during each step (SIGINT as a terminal's Ctrl-C sends it,
// or SIGKILL of the CLI, its plugins and the steps, as when the machine dies), or a fault is
// injected; then `pulumi up` is run again until it succeeds. Each kill's rerun is the next row's
// run, so one chain covers every step. Nothing lost means: every row and file (counts and content
// hashes) in the result, no container left stopped, the restore point of this attempt used (never
// an older one), and `deployed` never at a version whose steps did not all finish.
//
// UPSHIFT_FAULTS_REPORT=FILE writes the rows measured here as JSON (docs/reliability.md is made from it).
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { digest, psql, waitReady } from "../integration/cvat-steps";
import { Deployed, initCvatStack, mediaSums, names, SEED, tryClean } from "./cvat-fixture";
import { assertAllServing, buildStandins, dk, E2EStack, running } from "./harness";

interface Row {
    fault: string;
    during: string;
    signal?: string;
    firstRun: string;
    rerun: string;
    compared: string;
    result: "pass" | "fail";
}

const rows: Row[] = [];

/** Whether a process whose command line matches `re` runs (a step's hook). */
const runs = (re: RegExp) => re.test(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }));
/** A container's id ("" when there is none). */
const idOf = (name: string) => {
    try {
        return dk(["container", "inspect", "-f", "{{.Id}}", name]).trim();
    } catch {
        return "";
    }
};
/** Whether a container with this id exists. */
const exists = (id: string) => dk(["ps", "-aq", "--no-trunc", "--filter", `id=${id}`]).trim() !== "";

/** Which containers of `names` do not run (what a killed run left down). */
const down = (list: string[]) => list.filter((n) => running(n)?.status !== "running");

describe("e2e: the fault matrix, CVAT 2.2.0 -> 2.3.0 and back, real Pulumi engine, real Docker and Postgres; stand-in providers and app images", function () {
    this.timeout(60 * 60 * 1000);
    const stack = new E2EStack("e2e-faults");
    let before220: Record<string, string>;
    let media: string;

    before(async function () {
        buildStandins(["cvat-2.2.0", "cvat-2.3.0", "static"]);
        await initCvatStack(stack);
        await stack.up();
        await waitReady("cvat_db");
        psql("cvat_db", "cvat", SEED);
        dk([
            "exec",
            "cvat_server",
            "sh",
            "-c",
            "mkdir -p /home/django/data/data/1/raw && for i in $(seq 1 12); do head -c 1000000 /dev/urandom > /home/django/data/data/1/raw/$i.jpg; done",
        ]);
        before220 = digest("cvat_db", "cvat");
        media = mediaSums();
    });

    after(async function () {
        if (process.env.UPSHIFT_FAULTS_REPORT)
            fs.writeFileSync(process.env.UPSHIFT_FAULTS_REPORT, JSON.stringify(rows, null, 2) + "\n");
        console.log(
            `      fault matrix: ${rows.filter((r) => r.result === "pass").length} of ${rows.length} rows pass`,
        );
        await stack.teardown();
        tryClean();
        stack.cleanup();
    });

    /**
     * `pulumi up`, killed with `signal` as soon as `reached()` says the step runs (a step: its hook
     * is on the process list; a container replacement: the container's id changed or it is gone).
     * This CLI has no event log to follow (`--event-log` is not a flag of v3.274.1).
     */
    async function killedDuring(what: string, signal: "SIGINT" | "SIGKILL", reached: () => boolean): Promise<void> {
        let fired = false;
        const run = await stack.up({
            allowFail: true,
            onStart: (child) => {
                const poll = setInterval(() => {
                    if (fired || !reached()) return;
                    clearInterval(poll);
                    fired = true;
                    if (signal === "SIGINT") process.kill(-child.pid!, "SIGINT");
                    // The machine "dies": the CLI, the plugins, and the steps whose command line names this stack's files.
                    else
                        execFileSync("sh", [
                            "-c",
                            `kill -KILL -${child.pid}; pkill -KILL -f '[/]${stack.dir.slice(1)}|standins/[d]ocker-provider.ts|standins/[c]ommand-provider.ts' || true`,
                        ]);
                }, 100);
                child.on("close", () => clearInterval(poll));
            },
        });
        assert.ok(
            fired,
            `the run reached ${what} (exit ${run.code ?? run.signal}): ${(run.stdout + run.stderr).slice(-1500)}`,
        );
        assert.notStrictEqual(run.code, 0, "a killed update does not succeed");
    }

    /**
     * The README's procedure after a killed run ("If pulumi up itself was killed"): release the
     * lock, remove the containers the killed creates left (`upshift orphans`, from the exported
     * state), clear the pending creates. Returns what `upshift orphans` removed.
     */
    async function recover(): Promise<string[]> {
        await stack.pulumi(["cancel", "--yes", "--stack", stack.stack], { allowFail: true });
        const file = path.join(stack.dir, "export.json");
        fs.writeFileSync(file, JSON.stringify(await stack.exported()));
        const r = execFileSync(
            path.join(__dirname, "..", "..", "bin", "upshift"),
            ["orphans", "--stack", `upshift/${stack.stack}`, "--state", file, "--remove"],
            { encoding: "utf8", env: stack.env() },
        );
        await stack.pulumi(stack.stackArgs("refresh", "--yes", "--clear-pending-creates", "--suppress-progress"));
        return (JSON.parse(r.trim().split("\n").pop()!) as { removed: string[] }).removed;
    }

    /** The chain: kill during each step in turn; each rerun continues where the last one stopped. */
    async function chain(
        from: string,
        to: string,
        steps: {
            during: string;
            hook?: RegExp;
            replaced?: string;
            signal: "SIGINT" | "SIGKILL";
            beforeStop?: boolean;
        }[],
        expect: { rows: Record<string, string>; media: string },
    ) {
        await stack.config("cvat:version", to);
        // A container the killed create left, unknown to the state, and its row: the next run must remove it.
        let orphan: { id: string; row: Row } | undefined;
        for (const s of steps) {
            const before = s.replaced ? idOf(s.replaced) : "";
            // A replacement is reached when its new container exists (the old one deleted first, then created).
            await killedDuring(
                s.during,
                s.signal,
                s.hook
                    ? () => runs(s.hook!)
                    : () => {
                          const id = idOf(s.replaced!);
                          return id !== "" && id !== before;
                      },
            );
            const out = (await stack.outputs()).deployed as Deployed;
            const stopped = down(names(from));
            let left = `deployed ${out.cvat.version}; not running: ${stopped.length ? stopped.join(", ") : "none"}`;
            const row: Row = {
                fault: "kill",
                during: `${s.during} (${from} -> ${to})`,
                signal: s.signal,
                firstRun: left,
                rerun: "",
                compared: "",
                result: "fail",
            };
            rows.push(row);
            if (s.replaced && s.signal === "SIGKILL") {
                // The provider had created the container, and the engine, killed while the create waited
                // for health, never recorded it: what `upshift orphans` is for (hooks/containers/orphans.ts).
                const id = idOf(s.replaced);
                const known = ((await stack.exported()).deployment.resources ?? []).some((r) => r.outputs?.id === id);
                // cvat_db's create waits for health, so the kill always lands inside it; an app's create
                // returns at once, and the engine may have recorded it before the kill.
                if (s.replaced === "cvat_db")
                    assert.ok(
                        id && !known,
                        `the kill left a ${s.replaced} container the state does not know (id ${id || "none"}, in state: ${known})`,
                    );
                if (id && !known) {
                    orphan = { id, row };
                    row.firstRun =
                        left = `${left}; container ${s.replaced} ${id.slice(0, 12)} created but not in the state`;
                } else {
                    row.firstRun = left = `${left}; the new ${s.replaced} was already in the state`;
                }
            }
            assert.strictEqual(out.cvat.version, from, `${s.during}: deployed stays at ${from}`);
            const removed = await recover();
            if (orphan) {
                // The engine creates a change's app containers in parallel: a kill can leave several.
                assert.ok(
                    removed.includes(s.replaced!),
                    `upshift orphans removed the ${s.replaced} the killed create left (removed: ${removed.join(", ")})`,
                );
                assert.deepStrictEqual(
                    removed.filter((n) => !names(to).includes(n)),
                    [],
                    "and only containers of the product",
                );
                assert.strictEqual(exists(orphan.id), false);
                orphan.row.rerun = `upshift orphans removed ${removed.join(", ")} (created by the killed run, this stack's labels, not in the state; ${s.replaced} was ${orphan.id.slice(0, 12)}); `;
                orphan = undefined;
            } else {
                assert.deepStrictEqual(removed, [], `${s.during}: upshift orphans found nothing to remove`);
            }
            if (s.beforeStop && s.signal === "SIGINT") {
                // Before any point of no return, Ctrl-C leaves the product as it was: serving.
                await new Promise((r) => setTimeout(r, 6000));
                assert.deepStrictEqual(
                    down(names(from)),
                    [],
                    `${s.during}: Ctrl-C left ${from} serving (the step started again what it stopped)`,
                );
            }
        }
        const final = await stack.up();
        assertAllServing(names(to));
        const got = digest("cvat_db", "cvat");
        assert.deepStrictEqual(got, expect.rows, "every table: count and content hash");
        assert.strictEqual(mediaSums(), expect.media, "every media file");
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, to);
        const rowsN = Object.values(got).reduce((n, d) => n + Number(d.split(":")[0]), 0);
        for (const r of rows.filter((x) => x.during.endsWith(`(${from} -> ${to})`) && x.result === "fail")) {
            r.rerun += `the next run continued; the final run (${final.seconds.toFixed(0)} s) completed`;
            r.compared = `${Object.keys(got).length} tables, ${rowsN} rows (counts and content hashes) and 12 media files (sha256) equal; every container serving`;
            r.result = "pass";
        }
        await stack.preview(["--expect-no-changes"]);
        return out;
    }

    it("upgrade 2.2.0 -> 2.3.0 killed during every step in turn (SIGINT and SIGKILL alternating), then rerun: nothing lost, this attempt's restore point used", async function () {
        const out = await chain(
            "2.2.0",
            "2.3.0",
            [
                { during: "preflight", hook: /upshift preflight/, signal: "SIGINT", beforeStop: true },
                { during: "backup", hook: /upshift backup/, signal: "SIGKILL" },
                { during: "backup", hook: /upshift backup/, signal: "SIGINT", beforeStop: true },
                { during: "verify", hook: /upshift verify/, signal: "SIGKILL" },
                { during: "verify", hook: /upshift verify/, signal: "SIGINT", beforeStop: true },
                { during: "prune", hook: /upshift prune/, signal: "SIGKILL" },
                // pg-migrate (pg_upgrade into the new volume) writes only the new volume: before the DB
                // container's replacement, Ctrl-C leaves 2.2.0 serving on its own.
                { during: "pg-migrate", hook: /upshift pg-migrate/, signal: "SIGINT", beforeStop: true },
                { during: "pg-migrate", hook: /upshift pg-migrate/, signal: "SIGKILL" },
                { during: "DB replacement", replaced: "cvat_db", signal: "SIGKILL" },
                { during: "app replacement", replaced: "cvat_server", signal: "SIGINT" },
                { during: "start", hook: /upshift start/, signal: "SIGKILL" },
            ],
            { rows: before220, media },
        );
        // One attempt, however many runs: one restore point, the one on record.
        assert.deepStrictEqual(out.cvat.history!.at(-1)!.backups, ["cvat/2.2.0-to-2.3.0-a1-restore-point"]);
        assert.deepStrictEqual(
            fs.readdirSync(path.join(stack.backupDir, "cvat")).filter((d) => /-point/.test(d)),
            ["2.2.0-to-2.3.0-a1-restore-point"],
        );
    });

    it("rollback 2.3.0 -> 2.2.0 killed during every step in turn, then rerun: the 2.2.0 rows are back, nothing left stopped", async function () {
        await chain(
            "2.3.0",
            "2.2.0",
            [
                { during: "preflight", hook: /upshift preflight/, signal: "SIGKILL" },
                { during: "stop-apps", hook: /upshift stop/, signal: "SIGINT" },
                { during: "rollback-point backup", hook: /upshift backup/, signal: "SIGKILL" },
                { during: "verify", hook: /upshift verify/, signal: "SIGINT" },
                { during: "reattach", hook: /upshift preflight --volume/, signal: "SIGKILL" },
                { during: "DB replacement", replaced: "cvat_db", signal: "SIGINT" },
                { during: "app replacement", replaced: "cvat_server", signal: "SIGKILL" },
                { during: "start", hook: /upshift start/, signal: "SIGINT" },
            ],
            { rows: before220, media },
        );
    });

    it("the Docker daemon restarted during pg-migrate: that run fails, deployed stays at 2.2.0; the rerun completes with every row and file", async function () {
        const pidfile = "/run/upshift-docker/dockerd.pid";
        assert.ok(
            fs.existsSync(pidfile),
            `this row restarts the suite's own dockerd (.ci/docker-up.sh writes ${pidfile}); none was started by it`,
        );
        const pid = fs.readFileSync(pidfile, "utf8").trim();
        await stack.config("cvat:version", "2.3.0");
        let restarted = false;
        const run = await stack.up({
            allowFail: true,
            onStart: (child) => {
                const poll = setInterval(() => {
                    if (restarted || !runs(/upshift pg-migrate/)) return;
                    clearInterval(poll);
                    restarted = true;
                    // What `systemctl restart docker` does: the daemon stops (its containers with it) and starts again.
                    execFileSync("bash", [path.join(__dirname, "..", "..", ".ci", "docker-down.sh")]);
                    execFileSync("bash", [path.join(__dirname, "..", "..", ".ci", "docker-up.sh")], {
                        stdio: ["ignore", "ignore", "inherit"],
                    });
                }, 100);
                child.on("close", () => clearInterval(poll));
            },
        });
        assert.ok(restarted, "the run reached pg-migrate");
        assert.notStrictEqual(fs.readFileSync(pidfile, "utf8").trim(), pid, "dockerd was restarted (a new process)");
        const out = (await stack.outputs()).deployed as Deployed;
        const row: Row = {
            fault: "Docker daemon restarted",
            during: "pg-migrate (2.2.0 -> 2.3.0)",
            firstRun: `${run.code === 0 ? "succeeded" : "failed"}; deployed ${out.cvat.version}`,
            rerun: "",
            compared: "",
            result: "fail",
        };
        rows.push(row);
        if (run.code !== 0) assert.strictEqual(out.cvat.version, "2.2.0", "a failed run never moves deployed");
        // Rerun until it succeeds (the README's procedure after a failed run is just `pulumi up`).
        let reruns = 0;
        for (let last = run; last.code !== 0 && reruns < 3; reruns++) last = await stack.up({ allowFail: reruns < 2 });
        assertAllServing(names("2.3.0"));
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before220, "every table: count and content hash");
        assert.strictEqual(mediaSums(), media, "every media file");
        assert.strictEqual(((await stack.outputs()).deployed as Deployed).cvat.version, "2.3.0");
        await stack.preview(["--expect-no-changes"]);
        Object.assign(row, {
            rerun: `${reruns} rerun(s) of pulumi up completed`,
            compared:
                "every row (counts and content hashes) and media file equal; every 2.3.0 container serving; no diff after",
            result: "pass",
        });
        // Back to 2.2.0 for the next rows (a plain rollback).
        await stack.config("cvat:version", "2.2.0");
        await stack.up();
        assertAllServing(names("2.2.0"));
        assert.deepStrictEqual(digest("cvat_db", "cvat"), before220);
    });

    it("disk full (a small tmpfs as the backup dir, filled when the step starts) during the backup, then during pg-migrate (its work dir): each fails with the product serving, no .partial left; the rerun after freeing space completes", async function () {
        const fill = path.join(stack.backupDir, "ballast");
        fs.mkdirSync(stack.backupDir, { recursive: true });
        // Move the existing backups aside, then put a 600 MiB tmpfs under the backup dir.
        const keep = `${stack.backupDir}.keep`;
        fs.renameSync(stack.backupDir, keep);
        fs.mkdirSync(stack.backupDir);
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=600m", "tmpfs", stack.backupDir]);
        try {
            execFileSync("cp", ["-a", `${keep}/.`, stack.backupDir]);
            await stack.config("cvat:version", "2.3.0");
            for (const [during, hook] of [
                ["backup", /upshift backup /],
                ["pg-migrate", /upshift pg-migrate /],
            ] as const) {
                let filled = false;
                const run = await stack.up({
                    allowFail: true,
                    onStart: (child) => {
                        const poll = setInterval(() => {
                            if (filled || !runs(hook)) return;
                            clearInterval(poll);
                            // The disk fills up while the step writes (what another writer on the host does).
                            spawnFill(fill);
                            filled = true;
                        }, 50);
                        child.on("close", () => clearInterval(poll));
                    },
                });
                assert.ok(filled, `the run reached ${during}`);
                assert.notStrictEqual(run.code, 0, `${during} on a full disk fails`);
                assert.match(run.stdout + run.stderr, /ENOSPC|No space left|not enough free space/i);
                const out = (await stack.outputs()).deployed as Deployed;
                const stopped = down(names("2.2.0"));
                const partials = fs
                    .readdirSync(path.join(stack.backupDir, "cvat"))
                    .filter((d) => d.endsWith(".partial"));
                rows.push({
                    fault: "disk full",
                    during,
                    firstRun: `failed (ENOSPC); deployed ${out.cvat.version}; not running: ${stopped.join(", ") || "none"}; .partial left: ${partials.join(", ") || "none"}`,
                    rerun: "",
                    compared: "",
                    result: "fail",
                });
                assert.strictEqual(out.cvat.version, "2.2.0");
                assert.deepStrictEqual(partials, [], "no .partial keeps the disk full");
                assert.deepStrictEqual(stopped, [], `the ${during} started its writers again`);
                fs.rmSync(fill, { force: true });
            }
            await stack.up();
            assertAllServing(names("2.3.0"));
            assert.deepStrictEqual(digest("cvat_db", "cvat"), before220);
            assert.strictEqual(mediaSums(), media);
            for (const r of rows.filter((x) => x.fault === "disk full")) {
                Object.assign(r, {
                    rerun: "after the ballast was removed, the rerun completed",
                    compared: "every row (counts and hashes) and media file equal; every container serving",
                    result: "pass",
                });
            }
        } finally {
            execFileSync("umount", ["-l", stack.backupDir]);
            fs.rmSync(stack.backupDir, { recursive: true, force: true });
            fs.renameSync(keep, stack.backupDir);
        }
    });

    it("the retained old volume deleted by hand before a rollback: the rollback is refused at the preflight, with 2.3.0 still serving and nothing stopped", async function () {
        assertAllServing(names("2.3.0"));
        const after230 = digest("cvat_db", "cvat");
        dk(["volume", "rm", "cvat_cvat_db"]);
        await stack.config("cvat:version", "2.2.0");
        const run = await stack.up({ allowFail: true });
        assert.notStrictEqual(run.code, 0);
        assert.match(run.stdout + run.stderr, /missing on the Docker host: retained volume cvat_cvat_db/);
        assertAllServing(names("2.3.0"));
        assert.deepStrictEqual(digest("cvat_db", "cvat"), after230, "nothing was changed");
        const out = (await stack.outputs()).deployed as Deployed;
        assert.strictEqual(out.cvat.version, "2.3.0");
        rows.push({
            fault: "retained old volume deleted by hand",
            during: "before the rollback",
            firstRun:
                "refused at the preflight (missing on the Docker host: retained volume cvat_cvat_db); nothing stopped; deployed 2.3.0",
            rerun: "none needed: the product still serves 2.3.0 (set cvat:version back, or restore the volume from a backup)",
            compared: "rows unchanged (counts and hashes); every 2.3.0 container serving",
            result: "pass",
        });
        // The stack goes back to what runs.
        await stack.config("cvat:version", "2.3.0");
    });
});

/** Fills the file system that holds `file` to the last block. */
function spawnFill(file: string): void {
    execFileSync("sh", ["-c", `dd if=/dev/zero of='${file}' bs=1M 2>/dev/null; true`]);
}
