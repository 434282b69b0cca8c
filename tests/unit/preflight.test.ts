// preflight's free-space decision (hooks/volumes/preflight.ts): where data lands on the Docker host (its data
// root: new volumes, throwaway test restores) as well as the backup target. The shared dockerd's
// data root cannot be filled here, so the decision is tested as logic, the parsers on real `df`
// output, and the whole operation against a fake docker on PATH (stand-in for the engine).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDfAvailable, parseDockerRoot, shortfalls, spaceChecks } from "../../hooks/volumes/preflight";

const MiB = 1024 * 1024;
const REPO = path.join(__dirname, "..", "..");

describe("preflight: free space where the data lands", function () {
    this.timeout(120000);

    it("parseDfAvailable reads the real `df -Pk` of this machine as statfs sees it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-df-"));
        const r = spawnSync("df", ["-Pk", dir], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        const s = fs.statfsSync(dir);
        // Other programs write meanwhile: within 64 MiB.
        assert.ok(
            Math.abs(parseDfAvailable(r.stdout) - s.bavail * s.bsize) < 64 * MiB,
            `${r.stdout} vs ${s.bavail * s.bsize}`,
        );
    });

    it("parseDfAvailable: busybox's and GNU's lines, a device name with spaces; garbage is an error", () => {
        assert.strictEqual(
            parseDfAvailable(
                "Filesystem           1024-blocks    Used Available Capacity Mounted on\noverlay               61202244  9876540  48184984  17% /dockerroot\n",
            ),
            48184984 * 1024,
        );
        assert.strictEqual(parseDfAvailable("//nas/share x 100 50 40 56% /dockerroot"), 40 * 1024);
        assert.throws(
            () => parseDfAvailable("df: /dockerroot: No such file or directory"),
            /cannot read free space from df/,
        );
    });

    it("parseDockerRoot takes `docker info --format {{.DockerRootDir}}`; an empty answer names --docker-factor", () => {
        assert.strictEqual(parseDockerRoot("/var/lib/docker\n"), "/var/lib/docker");
        assert.throws(
            () => parseDockerRoot("\n"),
            /docker info did not say where Docker keeps its data .*--docker-factor 0/,
        );
    });

    const base = { dataBytes: 100 * MiB, volumeBytes: 80 * MiB, factor: 3, dockerFactor: 2 };

    it("two filesystems: each is checked for its own share; a short data root is refused with its fix", () => {
        const checks = spaceChecks({
            ...base,
            target: { path: "/b", at: "/b", free: 400 * MiB, dev: 1 },
            dockerRoot: { path: "/var/lib/docker", free: 100 * MiB, dev: 2 },
        });
        assert.deepStrictEqual(
            checks.map((c) => [c.what, c.need]),
            [
                ["backups", 300 * MiB],
                ["Docker's new volumes", 160 * MiB],
            ],
        );
        assert.deepStrictEqual(shortfalls(checks), [
            "not enough free space at Docker's data root /var/lib/docker on the Docker host: 100.0 MiB free, 160.0 MiB needed " +
                "(2 x 80.0 MiB of volumes: new volumes and throwaway test restores); short by 60.0 MiB. Free space in Docker's data root (docker system df) or move it (dockerd --data-root)",
        ]);
    });

    it("one filesystem: the backups and the new volumes add up (each alone would fit)", () => {
        const checks = spaceChecks({
            ...base,
            target: { path: "/b", at: "/", free: 400 * MiB, dev: 7 },
            dockerRoot: { path: "/var/lib/docker", free: 400 * MiB, dev: 7 },
        });
        assert.strictEqual(checks.length, 1);
        assert.strictEqual(checks[0].need, 460 * MiB);
        assert.match(
            shortfalls(checks)[0],
            /^not enough free space at \/b and Docker's data root \/var\/lib\/docker \(one filesystem\): 400\.0 MiB free, 460\.0 MiB needed \(3 x 100\.0 MiB of data \+ 2 x 80\.0 MiB of volumes/,
        );
        assert.deepStrictEqual(
            shortfalls(
                spaceChecks({
                    ...base,
                    target: { path: "/b", at: "/", free: 460 * MiB, dev: 7 },
                    dockerRoot: { path: "/d", free: 460 * MiB, dev: 7 },
                }),
            ),
            [],
        );
    });

    it("a remote Docker host (no local device) is a filesystem of its own; --docker-factor 0 or no volumes: only the target", () => {
        const remote = spaceChecks({
            ...base,
            target: { path: "/b", at: "/b", free: 300 * MiB, dev: 7 },
            dockerRoot: { path: "/var/lib/docker", free: 160 * MiB },
        });
        assert.deepStrictEqual(shortfalls(remote), []);
        assert.strictEqual(remote.length, 2);
        const off = spaceChecks({
            ...base,
            dockerFactor: 0,
            target: { path: "/b", at: "/b", free: 300 * MiB, dev: 7 },
            dockerRoot: { path: "/d", free: 0 },
        });
        assert.deepStrictEqual(
            off.map((c) => c.what),
            ["backups"],
        );
        const dirsOnly = spaceChecks({
            ...base,
            volumeBytes: 0,
            target: { path: "/b", at: "/b", free: 300 * MiB, dev: 7 },
            dockerRoot: { path: "/d", free: 0 },
        });
        assert.deepStrictEqual(
            dirsOnly.map((c) => c.what),
            ["backups"],
        );
    });

    function runPreflight(state: Record<string, unknown>, args: string[]) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-space-"));
        fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
        const r = spawnSync(process.execPath, [path.join(REPO, "bin", "upshift"), "preflight", ...args], {
            cwd: REPO,
            encoding: "utf8",
            env: {
                ...process.env,
                PATH: `${path.join(__dirname, "fixtures", "space")}:${process.env.PATH}`,
                FAKE_SPACE: dir,
                DOCKER_HOST: "ssh://stand-in",
            },
        });
        const logFile = path.join(dir, "log.jsonl");
        const log = fs.existsSync(logFile)
            ? fs
                  .readFileSync(logFile, "utf8")
                  .trim()
                  .split("\n")
                  .map((l) => (JSON.parse(l) as { argv: string[] }).argv)
            : [];
        return { code: r.status, stdout: r.stdout, stderr: r.stderr, log };
    }

    it("stand-in engine: preflight refuses when Docker's data root cannot take the new volumes, though the backup target has room", () => {
        // Before the fix only the target was measured: this passed, and the restore into a new volume hit ENOSPC mid-step.
        const target = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-target-"));
        const r = runPreflight({ root: "/var/lib/upshift-docker", rootAvailKb: 1024, volumes: { cvat_db: 10 * MiB } }, [
            "--volume",
            "cvat_db",
            "--target",
            target,
        ]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.strictEqual(r.stdout, "");
        assert.match(
            r.stderr,
            /^upshift preflight: not enough free space at Docker's data root \/var\/lib\/upshift-docker on the Docker host: 1\.0 MiB free, 20\.0 MiB needed \(2 x 10\.0 MiB of volumes/,
        );
        const du = r.log.find((a) => a[0] === "run")!;
        assert.ok(du.includes("type=bind,src=/var/lib/upshift-docker,dst=/dockerroot,readonly"), du.join(" "));
        assert.ok(r.log.some((a) => a.join(" ") === "info --format {{.DockerRootDir}}"));
        const ok = runPreflight(
            { root: "/var/lib/upshift-docker", rootAvailKb: 20 * 1024, volumes: { cvat_db: 10 * MiB } },
            ["--volume", "cvat_db", "--target", target],
        );
        assert.strictEqual(ok.code, 0, ok.stderr);
        const res = JSON.parse(ok.stdout);
        assert.deepStrictEqual(
            [res.dockerRoot, res.dockerRootFreeBytes, res.dataBytes],
            ["/var/lib/upshift-docker", 20 * MiB, 10 * MiB],
        );
        const off = runPreflight({ root: "/var/lib/upshift-docker", rootAvailKb: 1, volumes: { cvat_db: 10 * MiB } }, [
            "--volume",
            "cvat_db",
            "--target",
            target,
            "--docker-factor",
            "0",
        ]);
        assert.strictEqual(off.code, 0, off.stderr);
        assert.ok(!off.log.some((a) => a[0] === "info"));
    });

    it("--docker-factor must be a number >= 0 (exit 2, naming the flag)", () => {
        const r = runPreflight({ root: "/d", rootAvailKb: 1, volumes: {} }, [
            "--volume",
            "v",
            "--target",
            "/tmp",
            "--docker-factor",
            "lots",
        ]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /--docker-factor lots: expected a number >= 0/);
    });
});
