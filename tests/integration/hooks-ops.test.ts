// backup --stop, stop, exec and preflight against the real engine, and no secret in any output.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { TEST_IMAGES } from "./setup";
import {
    CliResult,
    cleanupDocker,
    collect,
    dockerSync,
    inTools,
    makeData,
    okJson,
    runPrefix,
    startUpshift,
    tmpDir,
    upshift,
} from "./hooks-util";

// PID 1 of a container ignores SIGTERM unless it traps it; a real server shuts down on it.
const SERVER = "trap 'exit 0' TERM; while :; do sleep 0.2; done";

function state(container: string): string {
    return dockerSync(["container", "inspect", "--format", "{{.State.Status}}", container]).trim();
}

/** A small tmpfs (we are root): a target with a known, tiny amount of free space. */
function mountTmpfs(dir: string, size: string): void {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
}

describe("hooks: stop, exec, preflight and backup --stop (real Docker engine)", function () {
    const prefix = runPrefix("ops");
    const vol = `${prefix}-data`;
    const app = `${prefix}-app`;
    const mounts: string[] = [];
    let dir: string;

    before(function () {
        dir = tmpDir(prefix);
        dockerSync(["volume", "create", vol]);
        makeData(vol, 200, [8]);
        // Plays the product's server: it writes to the volume while it runs.
        dockerSync(["run", "-d", "--name", app, "-v", `${vol}:/data`, TEST_IMAGES.tools, "sh", "-c", SERVER]);
    });

    after(function () {
        for (const m of mounts) execFileSync("umount", ["-l", m]);
        cleanupDocker(prefix);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("backup --stop: the container is running again after a backup that FAILED (target out of space)", async function () {
        const small = path.join(dir, "full");
        mountTmpfs(small, "1m");
        mounts.push(small);
        assert.strictEqual(state(app), "running");
        const r = await upshift([
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "x",
            "--to",
            small,
            "--volume",
            vol,
            "--stop",
            app,
        ]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /stopping .*-app/);
        assert.match(r.stderr, /ENOSPC|no space/i);
        assert.match(r.stderr, /starting .*-app again/);
        assert.strictEqual(state(app), "running");
        assert.deepStrictEqual(fs.readdirSync(path.join(small, "cvat")), [], "the .partial directory is removed");
    });

    it("backup --stop: stops, backs up and starts the container again; a rerun reuses the finished backup", async function () {
        const r = await upshift([
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "ok",
            "--to",
            dir,
            "--volume",
            vol,
            "--stop",
            `${app},${prefix}-not-there`,
        ]);
        const j = okJson(r);
        assert.deepStrictEqual(j.stopped, [app]);
        assert.strictEqual(state(app), "running");
        const again = okJson(
            await upshift([
                "backup",
                "--product",
                "cvat",
                "--version",
                "2.2.0",
                "--id",
                "ok",
                "--to",
                dir,
                "--volume",
                vol,
                "--stop",
                app,
            ]),
        );
        assert.strictEqual(again.existing, true);
    });

    it("backup refuses a volume that does not exist, before stopping anything", async function () {
        const r = await upshift([
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "y",
            "--to",
            dir,
            "--volume",
            `${prefix}-nope`,
            "--stop",
            app,
        ]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /volume .*-nope does not exist/);
        assert.doesNotMatch(r.stderr, /stopping/);
    });

    it("preflight refuses when free space at the target is short (1 MiB tmpfs), naming the shortfall", async function () {
        const small = path.join(dir, "tiny");
        mountTmpfs(small, "1m");
        mounts.push(small);
        const r = await upshift([
            "preflight",
            "--container",
            app,
            "--volume",
            vol,
            "--target",
            path.join(small, "backups"),
        ]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.strictEqual(r.stdout, "");
        assert.match(
            r.stderr,
            /not enough free space at .*tiny\/backups .*: 1\.0 MiB free, [\d.]+ MiB needed \(3 x [\d.]+ MiB of data\); short by [\d.]+ MiB/,
        );
        // The same data fits 3x into a big enough target.
        const big = path.join(dir, "big");
        mountTmpfs(big, "64m");
        mounts.push(big);
        const ok = okJson(await upshift(["preflight", "--container", app, "--volume", vol, "--target", big]));
        assert.ok((ok.freeBytes as number) >= (ok.needBytes as number));
        assert.ok((ok.dataBytes as number) > 8 * 1024 * 1024);
        const f = await upshift(["preflight", "--volume", vol, "--target", big, "--factor", "10"]);
        assert.strictEqual(f.code, 1);
        assert.match(f.stderr, /\(10 x /);
    });

    it("preflight names what is missing on the Docker host", async function () {
        const r = await upshift([
            "preflight",
            "--container",
            `${prefix}-ghost`,
            "--volume",
            `${prefix}-nope`,
            "--target",
            dir,
        ]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /missing on the Docker host: container .*-ghost, volume .*-nope/);
        // Without --target only presence is checked (a rollback's re-attach of a retained volume).
        const present = await upshift(["preflight", "--volume", vol]);
        assert.strictEqual(present.code, 0, present.stderr);
        const gone = await upshift(["preflight", "--volume", `${prefix}-nope`]);
        assert.strictEqual(gone.code, 1);
        const u = await upshift(["preflight"]);
        assert.strictEqual(u.code, 2, "usage error with nothing to check");
    });

    it("exec runs in the container with its output on stderr; a failing command exits 1", async function () {
        const r = await upshift([
            "exec",
            "--container",
            app,
            "--wait-healthy",
            "10",
            "--",
            "sh",
            "-c",
            "echo from-the-app; ls /data | wc -l",
        ]);
        okJson(r);
        assert.match(r.stderr, /from-the-app/);
        const bad = await upshift(["exec", "--container", app, "--", "sh", "-c", "exit 3"]);
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /exited with status 3/);
    });

    it("exec --wait-healthy waits for the healthcheck", async function () {
        const hc = `${prefix}-hc`;
        dockerSync([
            "run",
            "-d",
            "--name",
            hc,
            "--health-cmd",
            "test -f /tmp/ready",
            "--health-interval",
            "1s",
            TEST_IMAGES.tools,
            "sh",
            "-c",
            SERVER,
        ]);
        const child = startUpshift(["exec", "--container", hc, "--wait-healthy", "60", "--", "cat", "/tmp/ready"]);
        const done = collect(child);
        // Becomes healthy only once exec is seen waiting: exec must not have run before.
        await new Promise<void>((resolve) => {
            let err = "";
            child.stderr!.on("data", (b) => {
                err += b;
                if (/waiting for .*-hc to be healthy/.test(err)) resolve();
            });
            child.on("close", () => resolve());
        });
        dockerSync(["exec", hc, "touch", "/tmp/ready"]);
        const r = await done;
        okJson(r);
        assert.match(r.stderr, /waiting for .*-hc to be healthy \(running, starting\)/);
    });

    it("stop stops running containers; missing ones are fine", async function () {
        const j = okJson(await upshift(["stop", "--container", `${app},${prefix}-ghost`]));
        assert.deepStrictEqual(j.stopped, [app]);
        assert.deepStrictEqual(j.missing, [`${prefix}-ghost`]);
        assert.strictEqual(state(app), "exited");
        const again = okJson(await upshift(["stop", "--container", app]));
        assert.deepStrictEqual(again.alreadyStopped, [app]);
        dockerSync(["start", app]);
    });

    it("backs up a host directory (--dir) and restores it into a new directory byte for byte", async function () {
        const src = path.join(dir, "elastic_7");
        fs.mkdirSync(path.join(src, "nodes", "0"), { recursive: true });
        for (let i = 0; i < 50; i++)
            fs.writeFileSync(path.join(src, "nodes", "0", `seg${i}`), `segment ${i}\n`.repeat(i * 100));
        const j = okJson(
            await upshift([
                "backup",
                "--product",
                "clearml",
                "--version",
                "1.16.0",
                "--id",
                "d1",
                "--to",
                dir,
                "--dir",
                src,
            ]),
        );
        const a = (j.archives as { name: string; files: number }[])[0];
        assert.strictEqual(a.files, 50);
        const dst = path.join(dir, "restored", "elastic_7");
        okJson(await upshift(["restore", "--backup", path.join(dir, "clearml", "d1"), "--dir", `${src}=${dst}`]));
        for (let i = 0; i < 50; i++) {
            assert.ok(
                fs
                    .readFileSync(path.join(dst, "nodes", "0", `seg${i}`))
                    .equals(fs.readFileSync(path.join(src, "nodes", "0", `seg${i}`))),
            );
        }
        assert.ok(!fs.existsSync(path.join(dst, ".upshift-restore-in-progress")));
    });

    it("no secret from the environment appears in any hook's stdout or stderr", async function () {
        const secret = `pw-${prefix}-Zq9`;
        const env = { PGPASSWORD: secret, DJANGO_SECRET_KEY: `${secret}-django`, UPSHIFT_PROGRESS_MS: "100" };
        // A database-like container that knows the password, as a real one does.
        const db = `${prefix}-db`;
        dockerSync([
            "run",
            "-d",
            "--name",
            db,
            "-e",
            `PGPASSWORD=${secret}`,
            "-v",
            `${vol}:/data`,
            TEST_IMAGES.tools,
            "sh",
            "-c",
            SERVER,
        ]);
        const out: CliResult[] = [];
        const bdir = path.join(dir, `s-${secret}`); // the secret even ends up in paths and errors
        out.push(
            await upshift(
                [
                    "backup",
                    "--product",
                    "cvat",
                    "--version",
                    "1",
                    "--id",
                    "s",
                    "--to",
                    bdir,
                    "--volume",
                    vol,
                    "--stop",
                    db,
                ],
                env,
            ),
        );
        out.push(await upshift(["verify", "--backup", path.join(bdir, "cvat", "s"), "--test-restore"], env));
        out.push(
            await upshift(
                ["restore", "--backup", path.join(bdir, "cvat", "s"), "--volume", `${vol}=${prefix}-restored`],
                env,
            ),
        );
        out.push(await upshift(["restore", "--backup", path.join(dir, secret), "--volume", `${vol}=${prefix}-x`], env));
        out.push(await upshift(["preflight", "--container", db, "--volume", vol, "--target", bdir], env));
        out.push(await upshift(["preflight", "--volume", secret, "--target", bdir], env));
        out.push(
            await upshift(
                [
                    "exec",
                    "--container",
                    db,
                    "--",
                    "sh",
                    "-c",
                    'echo "password is $PGPASSWORD"; echo "again $PGPASSWORD" >&2; exit 1',
                ],
                env,
            ),
        );
        out.push(await upshift(["stop", "--container", db], env));
        // A --backup with no backup in it is a bad argument (exit 2); its path holds the secret.
        assert.deepStrictEqual(
            out.map((r) => r.code),
            [0, 0, 0, 2, 0, 1, 1, 0],
            out.map((r) => r.stderr).join("\n"),
        );
        assert.match(out[6].stderr, /password is \*\*\*/, "the exec output is shown, scrubbed");
        for (const r of out) {
            assert.ok(
                !r.stdout.includes(secret) && !r.stderr.includes(secret),
                `secret printed:\n${r.stdout}\n${r.stderr}`,
            );
        }
        // And the data did not go through stdout: every stdout is one short JSON line or nothing.
        for (const r of out) assert.ok(r.stdout.length < 4096 && r.stdout.split("\n").length <= 2);
        assert.strictEqual(inTools([`${prefix}-restored:/d:ro`], "ls /d/small | wc -l").trim(), "10");
    });
});
