// Interrupting a hook (issue 12, finding 2): SIGINT, SIGTERM, SIGHUP, the death of the `sh` that
// started it (what the command provider does on the first Ctrl-C), and SIGKILL of the hook itself,
// each while a backup has its writer stopped, against the real Docker engine. Nothing may leave
// the writer stopped for good, or a helper container or a `.partial` directory behind.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TEST_IMAGES } from "./setup";
import {
    CLI,
    cleanupDocker,
    collect,
    dockerSync,
    makeData,
    okJson,
    runPrefix,
    startUpshift,
    tmpDir,
    upshift,
} from "./hooks-util";

const SERVER = "trap 'exit 0' TERM; while :; do sleep 0.2; done";

function state(container: string): string {
    return dockerSync(["container", "inspect", "--format", "{{.State.Status}}", container]).trim();
}

async function until(what: string, ok: () => boolean, ms = 60000): Promise<void> {
    const end = Date.now() + ms;
    while (!ok()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** upshift's helper containers (the tar of a backup, ...). */
const helpers = () => dockerSync(["ps", "-aq", "--filter", "label=upshift.helper=true"]).split("\n").filter(Boolean);
/** Whether a hook process with this backup id still runs. */
const hookRuns = (id: string) => spawnSync("pgrep", ["-f", `--id ${id} `]).status === 0;

describe("hooks: an interrupted step starts again what it stopped (real Docker engine)", function () {
    const prefix = runPrefix("int");
    const vol = `${prefix}-data`;
    const app = `${prefix}-app`;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const ledger = () => path.join(env.UPSHIFT_STATE_DIR!, "stopped.json");
    const onLedger = () =>
        fs.existsSync(ledger())
            ? Object.keys(JSON.parse(fs.readFileSync(ledger(), "utf8"))).map((k) => k.split(" ").pop())
            : [];
    const backupArgs = (id: string) => [
        "backup",
        "--product",
        "cvat",
        "--version",
        "2.2.0",
        "--id",
        id,
        "--to",
        dir,
        "--volume",
        vol,
        "--stop",
        app,
    ];

    before(function () {
        dir = tmpDir(prefix);
        env = { UPSHIFT_STATE_DIR: path.join(dir, "state") };
        dockerSync(["volume", "create", vol]);
        // Big enough that the archive is still being written when the signal comes.
        makeData(vol, 2000, [150, 150]);
        dockerSync(["run", "-d", "--name", app, "-v", `${vol}:/data`, TEST_IMAGES.tools, "sh", "-c", SERVER]);
    });

    after(function () {
        cleanupDocker(prefix);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const [sig, code] of [
        ["SIGINT", 130],
        ["SIGTERM", 143],
        ["SIGHUP", 129],
    ] as const) {
        it(`${sig} while the writer is stopped: exit ${code}, the writer runs again, no helper or .partial is left`, async function () {
            assert.strictEqual(state(app), "running");
            const child = startUpshift(backupArgs(`sig-${sig}`), env);
            const done = collect(child);
            await until(
                "the writer stopped and the archive started",
                () => state(app) === "exited" && helpers().length > 0,
            );
            child.kill(sig);
            const r = await done;
            assert.strictEqual(r.code, code, r.stderr);
            assert.match(r.stderr, new RegExp(`interrupted \\(${sig}\\)`));
            assert.strictEqual(state(app), "running", "started again by the interrupted hook itself");
            assert.deepStrictEqual(helpers(), [], "the tar helper was removed");
            assert.deepStrictEqual(onLedger(), [], "nothing left on the ledger of stopped containers");
            assert.ok(
                !fs.existsSync(path.join(dir, "cvat", `sig-${sig}.partial`)),
                "the .partial directory is removed",
            );
            assert.ok(!fs.existsSync(path.join(dir, "cvat", `sig-${sig}`)), "no backup published");
        });
    }

    it("the `sh` that ran it is SIGKILLed (first Ctrl-C under pulumi): the orphaned hook starts the writer again and exits", async function () {
        const sh = spawn("sh", ["-c", `${CLI} ${backupArgs("orphan").join(" ")}`], {
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        sh.stdout!.resume();
        sh.stderr!.resume();
        await until(
            "the writer stopped and the archive started",
            () => state(app) === "exited" && helpers().length > 0,
        );
        const started = Date.now();
        sh.kill("SIGKILL");
        await until("the writer running again", () => state(app) === "running", 20000);
        await until("the hook gone with its helpers", () => helpers().length === 0 && !hookRuns("orphan"), 20000);
        assert.ok(Date.now() - started < 15000, `back within 15 s (took ${Date.now() - started} ms)`);
        assert.ok(
            !fs.existsSync(path.join(dir, "cvat", "orphan")),
            "the interrupted step did not carry on and publish a backup",
        );
        assert.ok(!fs.existsSync(path.join(dir, "cvat", "orphan.partial")));
        assert.deepStrictEqual(onLedger(), []);
    });

    it("the `sh` that ran it was killed before the hook could look (a Ctrl-C right at the step's start): the hook, given the shell's pid, stops at once and touches nothing", async function () {
        // A pid that is not this hook's parent: what the hook sees when its shell died between the
        // exec and its first line (components/hookSteps.ts passes UPSHIFT_PARENT_PID=$$).
        const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
        assert.strictEqual(state(app), "running");
        const r = await upshift(backupArgs("orphan-at-start"), { ...env, UPSHIFT_PARENT_PID: gone });
        assert.strictEqual(r.code, 129, r.stderr);
        assert.match(r.stderr, new RegExp(`parent process ${gone} gone before the operation started`));
        assert.strictEqual(state(app), "running", "the writer was never stopped");
        assert.ok(!fs.existsSync(path.join(dir, "cvat", "orphan-at-start")), "no backup");
        assert.deepStrictEqual(onLedger(), []);
        // The shell's own pid, as a step passes it: the hook runs as usual.
        const sh = spawnSync("sh", ["-c", `UPSHIFT_PARENT_PID=$$ ${CLI} ${backupArgs("parent-alive").join(" ")}`], {
            encoding: "utf8",
            env: { ...process.env, ...env },
        });
        assert.strictEqual(sh.status, 0, sh.stderr);
        assert.ok(fs.existsSync(path.join(dir, "cvat", "parent-alive", "manifest.json")));
    });

    it("SIGKILL of the hook itself: the writer stays stopped, on the ledger; the step's rerun takes it over and starts it after the backup", async function () {
        const child = startUpshift(backupArgs("killed"), env);
        const done = collect(child);
        await until(
            "the writer stopped and the archive started",
            () => state(app) === "exited" && helpers().length > 0,
        );
        child.kill("SIGKILL");
        await done;
        // Nothing can run on SIGKILL: what is left is recorded.
        assert.strictEqual(state(app), "exited");
        assert.deepStrictEqual(onLedger(), [app]);
        const r = await upshift(backupArgs("killed"), env);
        const j = okJson(r);
        assert.match(r.stderr, /stopped by an earlier, interrupted run/);
        assert.deepStrictEqual(j.stopped, [app]);
        assert.strictEqual(state(app), "running");
        assert.deepStrictEqual(onLedger(), []);
    });

    it("a verify finds the helper containers and throwaway volumes a killed run left and removes them", async function () {
        // A killed process's helpers: labelled with an owner pid that no longer runs on this host.
        const owner = `${os.hostname()}:999999`;
        dockerSync([
            "volume",
            "create",
            "--label",
            "upshift.throwaway=true",
            "--label",
            `upshift.owner=${owner}`,
            `${prefix}-left-vol`,
        ]);
        dockerSync([
            "run",
            "-d",
            "--name",
            `${prefix}-left-ctr`,
            "--label",
            "upshift.helper=true",
            "--label",
            `upshift.owner=${owner}`,
            TEST_IMAGES.tools,
            "sleep",
            "600",
        ]);
        // Another host's are left alone.
        dockerSync([
            "volume",
            "create",
            "--label",
            "upshift.throwaway=true",
            "--label",
            "upshift.owner=elsewhere:1",
            `${prefix}-other-vol`,
        ]);
        okJson(await upshift(backupArgs("for-verify"), env));
        const r = await upshift(["verify", "--backup", path.join(dir, "cvat", "for-verify"), "--test-restore"], env);
        okJson(r);
        assert.match(r.stderr, /removed 2 helper containers and throwaway volumes left by an interrupted run/);
        const vols = dockerSync(["volume", "ls", "-q", "--filter", `name=${prefix}`])
            .split("\n")
            .filter(Boolean);
        assert.deepStrictEqual(vols.sort(), [vol, `${prefix}-other-vol`].sort());
        assert.strictEqual(dockerSync(["ps", "-aq", "--filter", `name=${prefix}-left-ctr`]).trim(), "");
    });
});
