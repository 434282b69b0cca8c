// backup / restore / verify against the real engine, through the CLI as an operator runs it.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { TEST_IMAGES } from "./setup";
import {
    cleanupDocker,
    collect,
    dockerSync,
    fingerprint,
    hashTree,
    inTools,
    makeData,
    okJson,
    runPrefix,
    startUpshift,
    tmpDir,
    upshift,
    volumeExists,
} from "./hooks-util";

// 5000 small files and three random (incompressible) large ones: 20 + 35 + 50 MiB.
const SMALL_FILES = 5000;
const LARGE_MB = [20, 35, 50];

describe("hooks: backup, restore and verify of a volume (real Docker engine)", function () {
    const prefix = runPrefix("bk");
    const source = `${prefix}-data`;
    let dir: string;
    let backupDir: string;
    let original: string;
    let archive: string;

    before(function () {
        dir = tmpDir(prefix);
        dockerSync(["volume", "create", source]);
        makeData(source, SMALL_FILES, LARGE_MB);
        original = fingerprint(source);
    });

    /** A copy of the first backup, to damage. */
    function copyBackup(what: string): string {
        // Where a backup is written, DIR/PRODUCT/ID: restore and verify refuse one moved elsewhere.
        const copy = path.join(
            dir,
            `damaged-${what}`,
            path.basename(path.dirname(backupDir)),
            path.basename(backupDir),
        );
        fs.mkdirSync(copy, { recursive: true });
        for (const f of fs.readdirSync(backupDir)) fs.copyFileSync(path.join(backupDir, f), path.join(copy, f));
        return copy;
    }

    after(function () {
        cleanupDocker(prefix);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("backs up a volume: one JSON line, a manifest with sha256, files and bytes", async function () {
        const r = await upshift([
            "backup",
            "--product",
            "cvat",
            "--version",
            "2.2.0",
            "--id",
            "rp1",
            "--to",
            dir,
            "--volume",
            source,
            "--label",
            "restore-point",
        ]);
        const j = okJson(r);
        backupDir = path.join(dir, "cvat", "rp1");
        assert.strictEqual(j.backup, backupDir);
        assert.ok(!fs.existsSync(`${backupDir}.partial`), "the .partial directory is renamed into place");
        const m = JSON.parse(fs.readFileSync(path.join(backupDir, "manifest.json"), "utf8"));
        assert.strictEqual(m.format, "upshift-backup/1");
        assert.strictEqual(m.label, "restore-point");
        const a = m.archives[0];
        archive = path.join(backupDir, a.file);
        // 5000 small files + 3 large + db/PG_VERSION; the symlink is not a regular file.
        assert.strictEqual(a.files, SMALL_FILES + LARGE_MB.length + 1);
        assert.ok(a.sourceBytes > LARGE_MB.reduce((s, x) => s + x, 0) * 1024 * 1024);
        assert.strictEqual(a.bytes, fs.statSync(archive).size);
        assert.match(r.stderr, /backup .*MiB\/s/, "progress (bytes, rate) on stderr");
    });

    it("the direct (local host) and streamed (UPSHIFT_BACKUP_STREAM=1) paths give archives that match their manifests and restore byte for byte", async function () {
        const entries: Record<string, { sha256: string; bytes: number; files: number; sourceBytes: number }> = {};
        for (const [mode, env, said] of [
            ["direct", {}, /written directly by the helper/],
            ["stream", { UPSHIFT_BACKUP_STREAM: "1" }, /streamed through Docker/],
        ] as const) {
            const id = `path-${mode}`;
            const r = await upshift(
                ["backup", "--product", "cvat", "--version", "2.2.0", "--id", id, "--to", dir, "--volume", source],
                env,
            );
            okJson(r);
            assert.match(r.stderr, said, `the ${mode} path was taken`);
            const bdir = path.join(dir, "cvat", id);
            const m = JSON.parse(fs.readFileSync(path.join(bdir, "manifest.json"), "utf8"));
            const a = m.archives[0];
            const file = path.join(bdir, a.file);
            const st = fs.statSync(file);
            assert.strictEqual(a.bytes, st.size);
            assert.strictEqual(st.uid, process.getuid!(), "the archive belongs to the invoking user");
            assert.strictEqual(hashTree(bdir)[a.file], a.sha256, "the manifest's sha256 is the file's");
            assert.strictEqual(
                execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0],
                a.sha256,
                "and sha256sum's",
            );
            assert.ok(!("compression" in a), "a zstd archive's entry is what older versions wrote");
            assert.strictEqual(a.files, SMALL_FILES + LARGE_MB.length + 1);
            entries[mode] = { sha256: a.sha256, bytes: a.bytes, files: a.files, sourceBytes: a.sourceBytes };
            const target = `${prefix}-path-${mode}`;
            okJson(await upshift(["restore", "--backup", bdir, "--volume", `${source}=${target}`]));
            assert.strictEqual(fingerprint(target), original, `the ${mode} archive restores byte for byte`);
        }
        assert.strictEqual(entries.direct.files, entries.stream.files);
        assert.strictEqual(entries.direct.sourceBytes, entries.stream.sourceBytes);
    });

    it("rejects a truncated archive before any volume is touched (a bad --backup: exit 2)", async function () {
        const copy = copyBackup("truncated");
        const file = path.join(copy, path.basename(archive));
        fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
        // An existing empty target and a new one: neither may be written or created.
        const existing = `${prefix}-truncated-existing`;
        const fresh = `${prefix}-truncated-new`;
        dockerSync(["volume", "create", existing]);
        const r = await upshift(["restore", "--backup", copy, "--volume", `${source}=${existing}`]);
        assert.strictEqual(r.code, 2, r.stderr);
        assert.match(
            r.stderr,
            /bytes, the manifest records \d+ \(truncated, or not the archive the manifest describes\)/,
        );
        assert.strictEqual(r.stdout, "");
        assert.strictEqual(inTools([`${existing}:/d:ro`], "ls -A /d | wc -l").trim(), "0");
        const r2 = await upshift(["restore", "--backup", copy, "--volume", `${source}=${fresh}`]);
        assert.strictEqual(r2.code, 2);
        assert.ok(!volumeExists(fresh), "no volume is created for a truncated backup");
        const v = await upshift(["verify", "--backup", copy]);
        assert.strictEqual(v.code, 2);
        assert.match(v.stderr, /truncated/);
    });

    it("a corrupted archive (one flipped byte, or 8 bytes overwritten) fails the restore; the target is left emptied with its marker, never looking restored", async function () {
        for (const damage of ["flipped", "overwritten"] as const) {
            const copy = copyBackup(damage);
            const file = path.join(copy, path.basename(archive));
            const at = Math.floor(fs.statSync(file).size * (damage === "flipped" ? 0.9 : 0.5));
            const fd = fs.openSync(file, "r+");
            const b = Buffer.alloc(8);
            fs.readSync(fd, b, 0, 8, at);
            if (damage === "flipped") b[0] ^= 0x01;
            else b.write("garbage!");
            fs.writeSync(fd, b, 0, 8, at);
            fs.closeSync(fd);
            // The archive is read once, while it is extracted: new or empty targets may be written,
            // and must not look restored afterwards.
            const existing = `${prefix}-${damage}-existing`;
            const fresh = `${prefix}-${damage}-new`;
            dockerSync(["volume", "create", existing]);
            for (const target of [existing, fresh]) {
                const r = await upshift(["restore", "--backup", copy, "--volume", `${source}=${target}`]);
                assert.strictEqual(r.code, 1, r.stderr);
                assert.match(r.stderr, /corrupted/);
                assert.strictEqual(r.stdout, "", "no success report");
                assert.strictEqual(
                    inTools([`${target}:/d:ro`], "ls -A /d").trim(),
                    ".upshift-restore-in-progress",
                    "emptied, its marker kept",
                );
            }
            // A rerun from the good copy of the same backup clears the marker's target and restores it.
            const good = okJson(await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${existing}`]));
            assert.strictEqual((good.restored as { cleared: boolean }[])[0].cleared, true);
            assert.strictEqual(fingerprint(existing), original);
            // --force replaces someone's data: there every checksum comes first, nothing is touched.
            const busy = `${prefix}-${damage}-busy`;
            dockerSync(["volume", "create", busy]);
            inTools([`${busy}:/d`], "echo keep > /d/other-data");
            const f = await upshift(["restore", "--backup", copy, "--volume", `${source}=${busy}`, "--force"]);
            assert.strictEqual(f.code, 1);
            assert.match(f.stderr, /is corrupted.*No volume was touched/);
            assert.strictEqual(inTools([`${busy}:/d:ro`], "ls -A /d").trim(), "other-data");
            const v = await upshift(["verify", "--backup", copy]);
            assert.strictEqual(v.code, 1);
            assert.match(v.stderr, /corrupted/);
            // A test restore reads each archive once, hashing it while it extracts: the same verdict.
            const t = await upshift(["verify", "--backup", copy, "--test-restore"]);
            assert.strictEqual(t.code, 1);
            assert.match(t.stderr, /is not good: .*corrupted/);
            assert.ok(!fs.existsSync(path.join(copy, "verified.json")));
        }
    });

    it("an uncompressed archive (UPSHIFT_COMPRESSION=none, direct and streamed) is a plain .tar that the manifest names, restores byte for byte and verifies", async function () {
        for (const [mode, env] of [
            ["direct", {}],
            ["stream", { UPSHIFT_BACKUP_STREAM: "1" }],
        ] as const) {
            const id = `plain-${mode}`;
            okJson(
                await upshift(
                    ["backup", "--product", "cvat", "--version", "2.2.0", "--id", id, "--to", dir, "--volume", source],
                    { ...env, UPSHIFT_COMPRESSION: "none" },
                ),
            );
            const bdir = path.join(dir, "cvat", id);
            const a = JSON.parse(fs.readFileSync(path.join(bdir, "manifest.json"), "utf8")).archives[0];
            assert.strictEqual(a.compression, "none");
            assert.strictEqual(a.file, `${source}.tar`);
            const file = path.join(bdir, a.file);
            assert.strictEqual(execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0], a.sha256);
            assert.ok(a.bytes >= a.sourceBytes, "not compressed");
            assert.match(execFileSync("tar", ["-tf", file], { encoding: "utf8", maxBuffer: 64 << 20 }), /large0\.bin/);
            const target = `${prefix}-plain-${mode}`;
            okJson(await upshift(["restore", "--backup", bdir, "--volume", `${source}=${target}`]));
            assert.strictEqual(fingerprint(target), original, `the ${mode} plain archive restores byte for byte`);
            okJson(await upshift(["verify", "--backup", bdir, "--test-restore"]));
        }
    });

    it("verify --test-restore restores into a throwaway volume and compares files and bytes", async function () {
        const throwaway = () => dockerSync(["volume", "ls", "-q", "--filter", "label=upshift.throwaway=true"]);
        const before = throwaway();
        const r = await upshift(["verify", "--backup", backupDir, "--test-restore"]);
        const j = okJson(r);
        const m = JSON.parse(fs.readFileSync(path.join(backupDir, "manifest.json"), "utf8"));
        assert.deepStrictEqual(j.testRestore, [
            { name: source, files: m.archives[0].files, bytes: m.archives[0].sourceBytes },
        ]);
        assert.match(r.stderr, /test-restore .*100%/);
        assert.strictEqual(throwaway(), before, "throwaway volumes are removed");
    });

    it("a restore killed halfway leaves the backup and the source untouched, and a rerun succeeds", async function () {
        const target = `${prefix}-killed`;
        const backupBefore = hashTree(backupDir);
        const child = startUpshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`], {
            UPSHIFT_PROGRESS_MS: "100",
        });
        const done = collect(child);
        // Kill it once the extraction has moved some bytes, but well before the end.
        await new Promise<void>((resolve, reject) => {
            let err = "";
            child.stderr!.on("data", (b) => {
                err += b;
                // The latest progress line: the first ones may come before the helper reads anything.
                const m = [...err.matchAll(/restore .* -> .*: ([\d.]+) MiB \((\d+)%\)/g)].pop();
                if (m && Number(m[1]) > 1) {
                    child.kill("SIGKILL");
                    resolve();
                }
            });
            child.on("close", () => reject(new Error(`restore finished before it could be killed: ${err}`)));
        });
        const killed = await done;
        assert.strictEqual(killed.signal, "SIGKILL");
        assert.match(
            inTools([`${target}:/d:ro`], "ls -A /d"),
            /\.upshift-restore-in-progress/,
            "the target holds a half-finished restore",
        );
        assert.deepStrictEqual(hashTree(backupDir), backupBefore, "the backup is untouched");
        assert.strictEqual(fingerprint(source), original, "the source volume is untouched");

        const r = await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`]);
        const j = okJson(r);
        assert.match(r.stderr, /clearing volume .*an unfinished restore of this backup/);
        assert.strictEqual((j.restored as { cleared: boolean }[])[0].cleared, true);
        assert.strictEqual(fingerprint(target), original);
    });

    it("round-trips byte for byte: backup, delete the volume, restore (thousands of files, some large)", async function () {
        dockerSync(["volume", "rm", source]);
        assert.ok(!volumeExists(source));
        const j = okJson(await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${source}`]));
        assert.strictEqual((j.restored as { created: boolean }[])[0].created, true);
        const now = fingerprint(source);
        assert.strictEqual(now.split("\n").length, original.split("\n").length);
        assert.strictEqual(now, original, "every path, mode, owner, size and sha256 is the same");
    });

    it("refuses a non-empty target unless --force, which replaces its contents", async function () {
        const target = `${prefix}-busy`;
        dockerSync(["volume", "create", target]);
        inTools([`${target}:/d`], "echo keep > /d/other-data");
        const r = await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /is not empty \(1 entries\).*--force/);
        assert.strictEqual(inTools([`${target}:/d:ro`], "cat /d/other-data").trim(), "keep");
        okJson(await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`, "--force"]));
        assert.strictEqual(fingerprint(target), original);
    });

    it("a restore that completed is not redone by its rerun (its report was lost), but one whose target changed since is refused (issue 12)", async function () {
        const target = `${prefix}-rerun`;
        okJson(await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`]));
        const again = okJson(await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`]));
        assert.strictEqual(
            (again.restored as { existing?: boolean }[])[0].existing,
            true,
            "recognised as already restored",
        );
        assert.strictEqual(fingerprint(target), original);
        inTools([`${target}:/d`], "echo later > /d/written-after");
        const changed = await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`]);
        assert.strictEqual(changed.code, 1);
        assert.match(changed.stderr, /is not empty/);
    });

    it("restore --force refuses a volume that a running container uses (issue 12)", async function () {
        const target = `${prefix}-inuse`;
        dockerSync(["volume", "create", target]);
        inTools([`${target}:/d`], "echo live > /d/live-data");
        const app = `${prefix}-user`;
        dockerSync(["run", "-d", "--name", app, "-v", `${target}:/data`, TEST_IMAGES.tools, "sleep", "600"]);
        const r = await upshift(["restore", "--backup", backupDir, "--volume", `${source}=${target}`, "--force"]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, new RegExp(`volume ${target} is in use by the running container ${app}: stop it first`));
        assert.strictEqual(inTools([`${target}:/d:ro`], "cat /d/live-data").trim(), "live", "nothing was written");
        dockerSync(["rm", "-f", app]);
    });
});
