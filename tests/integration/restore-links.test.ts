// Symbolic links in an archive that point out of the restore target (issue 12, bad input), on the
// real engine: an archive that writes through such a link is refused (exit 2) with the links
// named, and its target is never taken as restored; links that only point out, with nothing
// written through them, are restored as the source had them.
import * as assert from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { cleanupDocker, dockerSync, inTools, okJson, runPrefix, tmpDir, upshift } from "./hooks-util";

describe("restore: links in an archive that point out of the target (real Docker engine)", function () {
    const prefix = runPrefix("lnk");
    let dir: string;

    /** A backup DIR/cvat/<id> whose one archive `tar` is built by `script` in the tools image (as /out/a.tar). */
    function craft(id: string, script: string, files: number, sourceBytes: number): string {
        const b = path.join(dir, "cvat", id);
        fs.mkdirSync(b, { recursive: true });
        inTools([`${b}:/out`], `set -e; ${script}; zstd -q /out/a.tar -o /out/v.tar.zst; rm /out/a.tar`);
        const file = path.join(b, "v.tar.zst");
        const bytes = fs.readFileSync(file);
        fs.writeFileSync(
            path.join(b, "manifest.json"),
            JSON.stringify({
                format: "upshift-backup/1",
                id,
                product: "cvat",
                version: "2.2.0",
                createdAt: new Date().toISOString(),
                archives: [
                    {
                        name: "v",
                        source: { type: "volume", name: "v" },
                        file: "v.tar.zst",
                        bytes: bytes.length,
                        sourceBytes,
                        files,
                        sha256: crypto.createHash("sha256").update(bytes).digest("hex"),
                    },
                ],
            }),
        );
        return b;
    }

    before(function () {
        dir = tmpDir(prefix);
    });
    after(function () {
        cleanupDocker(prefix);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("an archive with entries through a link to /outside and one to ../../up is refused with exit 2, naming both; its target is never taken as restored", async function () {
        // Two archives joined (tar -A): the links first, then files under the same names.
        const b = craft(
            "through",
            "mkdir -p /a /b/evil /b/up && ln -s /outside /a/evil && ln -s ../../up /a/up && echo pwned > /b/evil/pwned && echo pwned > /b/up/pwned2" +
                " && cd /a && tar -cf /out/a.tar ./evil ./up && cd /b && tar -cf /tmp/b.tar ./evil/pwned ./up/pwned2 && tar -Af /out/a.tar /tmp/b.tar",
            2,
            12,
        );
        const target = `${prefix}-through`;
        for (let run = 1; run <= 2; run++) {
            const r = await upshift(["restore", "--backup", b, "--volume", `v=${target}`]);
            assert.strictEqual(r.code, 2, r.stderr);
            assert.match(
                r.stderr,
                /archive v holds links that point out of the target \(evil -> \/outside, up -> \.\.\/\.\.\/up\)/,
            );
            assert.strictEqual(r.stdout, "", `run ${run}: no success line`);
        }
        assert.match(
            inTools([`${target}:/d:ro`], "ls -A /d"),
            /\.upshift-restore-in-progress/,
            "the marker stays: never taken as restored",
        );
    });

    it("links that point out with nothing written through them are restored as the source had them", async function () {
        const b = craft(
            "only-links",
            "mkdir -p /a/data && ln -s /home/django/share/x /a/data/shared && echo hi > /a/data/f && cd /a && tar -cf /out/a.tar .",
            1,
            3,
        );
        const target = `${prefix}-links`;
        okJson(await upshift(["restore", "--backup", b, "--volume", `v=${target}`]));
        assert.strictEqual(inTools([`${target}:/d:ro`], "readlink /d/data/shared").trim(), "/home/django/share/x");
        assert.strictEqual(inTools([`${target}:/d:ro`], "cat /d/data/f").trim(), "hi");
        dockerSync(["volume", "rm", target]);
    });
});
