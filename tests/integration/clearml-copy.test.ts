// The ClearML copy/ownership step (`upshift copy-dir`, the Mongo 3.6 -> 4.4 guide's copy into
// data/mongo_4 + chown 1000:1000) run for real by a helper container on the real Docker engine.
// The test checks with means of its own: a file-by-file fingerprint taken in this process.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const CLI = path.join(__dirname, "..", "..", "bin", "upshift");

function upshift(args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: process.env });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Entry {
    type: string;
    mode: number;
    size: number;
    sha256?: string;
    link?: string;
    uid: number;
    gid: number;
    mtimeMs?: number;
}

/** Every entry under dir by relative path, without following symlinks. */
function fingerprint(dir: string): Map<string, Entry> {
    const out = new Map<string, Entry>();
    const walk = (rel: string) => {
        for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
            const r = path.join(rel, name);
            const full = path.join(dir, r);
            const st = fs.lstatSync(full);
            const e: Entry = {
                type: st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : "file",
                mode: st.mode & 0o7777,
                size: st.isFile() ? st.size : 0,
                uid: st.uid,
                gid: st.gid,
            };
            if (st.isFile()) {
                e.sha256 = crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex");
                e.mtimeMs = Math.floor(st.mtimeMs);
            }
            if (st.isSymbolicLink()) e.link = fs.readlinkSync(full);
            out.set(r, e);
            if (st.isDirectory()) walk(r);
        }
    };
    walk("");
    return out;
}

/** A tree like a Mongo data dir plus the awkward cases: nested dirs, symlinks, odd names, modes, owners, a hard link. */
function makeTree(src: string): void {
    fs.mkdirSync(path.join(src, "diagnostic.data", "deep", "deeper"), { recursive: true });
    fs.mkdirSync(path.join(src, "empty dir"));
    for (let i = 0; i < 200; i++)
        fs.writeFileSync(path.join(src, `collection-${i}--123456789.wt`), crypto.randomBytes(100 + i * 37));
    fs.writeFileSync(path.join(src, "big.wt"), crypto.randomBytes(8 * 1024 * 1024));
    fs.writeFileSync(
        path.join(src, "diagnostic.data", "deep", "deeper", "metrics.2026-11-22T12-00-00Z-00000"),
        crypto.randomBytes(4096),
    );
    fs.writeFileSync(path.join(src, "WiredTiger.lock"), "");
    for (const odd of [
        "with space.wt",
        'quote\'d "name".wt',
        "-leading-dash",
        "ünïcödé.wt",
        "new\nline",
        "star*and?mark",
        "$dollar`tick",
    ]) {
        fs.writeFileSync(path.join(src, odd), `content of ${odd}`);
    }
    fs.symlinkSync("big.wt", path.join(src, "relative-link"));
    fs.symlinkSync("/etc/passwd", path.join(src, "absolute-link-outside"));
    fs.symlinkSync("does-not-exist", path.join(src, "dangling-link"));
    fs.linkSync(path.join(src, "big.wt"), path.join(src, "hardlink-to-big.wt"));
    fs.chmodSync(path.join(src, "WiredTiger.lock"), 0o600);
    fs.chmodSync(path.join(src, "diagnostic.data"), 0o750);
    fs.chownSync(path.join(src, "with space.wt"), 999, 999);
    fs.chownSync(path.join(src, "diagnostic.data"), 123, 456);
}

describe("ClearML copy-dir on a real Docker engine (helper container)", function () {
    this.timeout(10 * 60 * 1000);
    let base: string;
    const mounts: string[] = [];
    /** A small tmpfs on this machine, which is the Docker host of these tests. */
    const tmpfs = (dir: string, size: string) => {
        fs.mkdirSync(dir, { recursive: true });
        execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
        mounts.push(dir);
    };

    before(() => {
        base = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-clearml-copy-"));
    });
    after(() => {
        for (const m of mounts.reverse()) spawnSync("umount", [m]);
        if (base) fs.rmSync(base, { recursive: true, force: true });
    });

    it("copies data/mongo into data/mongo_4 byte for byte, owned 1000:1000, and leaves the source untouched", () => {
        const src = path.join(base, "data", "mongo", "db");
        const dst = path.join(base, "data", "mongo_4", "db");
        fs.mkdirSync(src, { recursive: true });
        makeTree(src);
        const before = fingerprint(src);
        const srcDirStat = fs.statSync(src);
        const started = Date.now();
        const r = upshift(["copy-dir", "--from", src, "--to", dst, "--owner", "1000:1000"]);
        const ms = Date.now() - started;
        assert.strictEqual(r.code, 0, r.stderr);
        const result = JSON.parse(r.stdout);
        assert.strictEqual(result.ok, true);

        // Source: same entries, contents, modes, owners, times; its own dir not modified.
        assert.deepStrictEqual(fingerprint(src), before);
        assert.strictEqual(fs.statSync(src).mtimeMs, srcDirStat.mtimeMs);

        // Target: the same tree byte for byte (types, contents, link targets, modes), everything 1000:1000.
        const after = fingerprint(dst);
        assert.deepStrictEqual([...after.keys()], [...before.keys()]);
        for (const [rel, e] of before) {
            const t = after.get(rel)!;
            assert.deepStrictEqual(
                { type: t.type, mode: t.mode, size: t.size, sha256: t.sha256, link: t.link },
                { type: e.type, mode: e.mode, size: e.size, sha256: e.sha256, link: e.link },
                rel,
            );
            assert.deepStrictEqual([t.uid, t.gid], [1000, 1000], `${rel} owned 1000:1000`);
        }
        const root = fs.statSync(dst);
        assert.deepStrictEqual([root.uid, root.gid], [1000, 1000]);
        assert.ok(!fs.existsSync(path.join(dst, ".upshift-copy-in-progress")), "no marker left");
        // Symlinks were not followed by chown: /etc/passwd keeps its owner.
        assert.strictEqual(fs.statSync("/etc/passwd").uid, 0);
        assert.strictEqual(
            fs.statSync(path.join(dst, "hardlink-to-big.wt")).ino,
            fs.statSync(path.join(dst, "big.wt")).ino,
            "hard link kept",
        );
        process.stderr.write(`      copy of ${before.size} entries (~9 MiB) took ${ms} ms including the CLI start\n`);

        // A rerun finds the finished copy and does nothing.
        const again = upshift(["copy-dir", "--from", src, "--to", dst, "--owner", "1000:1000"]);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.strictEqual(JSON.parse(again.stdout).alreadyCopied, true);
    });

    it("refuses a non-empty target that is not its own copy and writes nothing into it", () => {
        const src = path.join(base, "refuse-src");
        const dst = path.join(base, "refuse-dst");
        fs.mkdirSync(src);
        fs.mkdirSync(dst);
        fs.writeFileSync(path.join(src, "a"), "a");
        fs.writeFileSync(path.join(dst, "someone-elses.wt"), "precious");
        const before = fingerprint(dst);
        const r = upshift(["copy-dir", "--from", src, "--to", dst, "--owner", "1000:1000"]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /is not empty \(1 entries\) and is not a copy of/);
        assert.deepStrictEqual(fingerprint(dst), before);
    });

    it("redoes its own unfinished copy (marker left by a killed run) and refuses one of another source", () => {
        const src = path.join(base, "resume-src");
        const dst = path.join(base, "resume-dst");
        fs.mkdirSync(src);
        makeTree(src);
        fs.mkdirSync(dst);
        fs.writeFileSync(path.join(dst, ".upshift-copy-in-progress"), `copy of /elsewhere\n`);
        fs.writeFileSync(path.join(dst, "half.wt"), "half");
        const refused = upshift(["copy-dir", "--from", src, "--to", dst, "--owner", "1000:1000"]);
        assert.strictEqual(refused.code, 1);
        assert.match(refused.stderr, /unfinished copy of another source \(copy of \/elsewhere\)/);

        fs.writeFileSync(path.join(dst, ".upshift-copy-in-progress"), `copy of ${src}\n`);
        const r = upshift(["copy-dir", "--from", src, "--to", dst, "--owner", "1000:1000"]);
        assert.strictEqual(r.code, 0, r.stderr);
        const want = fingerprint(src);
        const got = fingerprint(dst);
        assert.deepStrictEqual([...got.keys()], [...want.keys()], "the half-done leftovers are gone");
        for (const [rel, e] of want) assert.strictEqual(got.get(rel)!.sha256, e.sha256, rel);
    });

    it("a missing source fails without creating anything from it", () => {
        const r = upshift([
            "copy-dir",
            "--from",
            path.join(base, "nope"),
            "--to",
            path.join(base, "nope-dst"),
            "--owner",
            "1000:1000",
        ]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /does not exist on the Docker host/);
        assert.strictEqual(
            upshift(["copy-dir", "--from", "relative", "--to", path.join(base, "x"), "--owner", "1000:1000"]).code,
            2,
        );
        assert.strictEqual(
            upshift([
                "copy-dir",
                "--from",
                path.join(base, "a"),
                "--to",
                path.join(base, "a", "b"),
                "--owner",
                "1000:1000",
            ]).code,
            2,
        );
    });

    it("refuses a copy that its target's filesystem cannot hold, before writing a byte (2 MiB tmpfs)", () => {
        // Before issue 12 (finding 8) the copy started and died of ENOSPC halfway.
        const src = path.join(base, "space-src");
        fs.mkdirSync(src);
        makeTree(src);
        tmpfs(path.join(base, "tiny"), "2m");
        const dst = path.join(base, "tiny", "mongo_4");
        const r = upshift(["copy-dir", "--from", src, "--to", dst, "--owner", "1000:1000"]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(
            r.stderr,
            /not enough free space at .*tiny\/mongo_4 on the Docker host for a copy of .*space-src: 2\.0 MiB free, [\d.]+ MiB needed \([\d.]+ MiB of files \+ 5%\); short by [\d.]+ MiB\. Free space there or choose another --to; nothing was copied/,
        );
        assert.deepStrictEqual(fs.readdirSync(dst), [], "nothing written");
    });

    it("ENOSPC in the middle of a copy removes the unfinished copy at once (1 MiB tmpfs): the disk is free again, a rerun redoes it", () => {
        // 400 one-byte files: 400 bytes by size, but a page each on tmpfs (1.6 MiB), so the size check passes and cp runs out of space.
        const src = path.join(base, "enospc-src");
        fs.mkdirSync(src);
        for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(src, `f${i}`), "x");
        const small = path.join(base, "small");
        tmpfs(small, "1m");
        const dst = path.join(small, "mongo_4");
        const r = upshift(["copy-dir", "--from", src, "--to", dst, "--owner", "1000:1000"]);
        assert.strictEqual(r.code, 1, r.stderr);
        assert.match(
            r.stderr,
            /copy .* failed \(the source is untouched; the unfinished copy was removed; a rerun redoes the copy\): .*No space left on device/,
        );
        assert.deepStrictEqual(fs.readdirSync(dst), [".upshift-copy-in-progress"], "only our marker is left");
        const st = fs.statfsSync(small);
        assert.ok(
            st.bavail * st.bsize >= 1024 * 1024 - 16 * 1024,
            `the tmpfs is free again: ${st.bavail * st.bsize} bytes free`,
        );
        assert.strictEqual(fs.readdirSync(src).length, 400, "the source is untouched");
    });
});
