// The manifest's one parser without Docker: hooks/offsite/backup-index.ts parseManifest (what list,
// pull and prune read, from disk or S3), through hooks/volumes/manifest.ts readManifest too (what
// restore, verify and preflight read on disk). A hostile or damaged manifest is refused with the file and what is wrong.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { isSafeSegment, parseManifest, sortNewestFirst } from "../../hooks/offsite/backup-index";
import { archiveName, readManifest } from "../../hooks/volumes/manifest";

const SHA = "a".repeat(64);
const good = () => ({
    format: "upshift-backup/1",
    id: "2.2.0-to-2.3.0-a1-restore-point",
    product: "cvat",
    version: "2.2.0",
    createdAt: "2026-12-01T10:00:00.000Z",
    archives: [
        {
            name: "cvat_db",
            source: { type: "volume", name: "cvat_db" },
            file: "cvat_db.tar.zst",
            bytes: 10,
            sourceBytes: 20,
            files: 2,
            sha256: SHA,
        },
    ],
});

describe("manifest readers (hooks/volumes/manifest.ts, hooks/offsite/backup-index.ts)", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-manifest-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (m: unknown) =>
        fs.writeFileSync(path.join(dir, "manifest.json"), typeof m === "string" ? m : JSON.stringify(m));

    it("readManifest reads a whole manifest", () => {
        write(good());
        assert.deepStrictEqual(readManifest(dir), good());
    });

    it("readManifest refuses, naming the file: none, not JSON, another format, a path as file name, a bad sha256, no size, an unknown compression", () => {
        assert.throws(() => readManifest(dir), /^Error: no backup at .*: cannot read manifest.json \(ENOENT\)/);
        const cases: [unknown, RegExp][] = [
            ["{", /manifest.json: manifest is not valid JSON .*; the backup is damaged or not an upshift backup$/],
            [
                { ...good(), format: "other/1" },
                /manifest.json: manifest has format "other\/1", expected "upshift-backup\/1"; the backup is damaged or not an upshift backup$/,
            ],
            [
                { ...good(), archives: [{ ...good().archives[0], file: "../../etc/passwd" }] },
                /invalid archive file name "..\/..\/etc\/passwd"/,
            ],
            [
                { ...good(), archives: [{ ...good().archives[0], file: ".hidden" }] },
                /invalid archive file name ".hidden"/,
            ],
            [
                { ...good(), archives: [{ ...good().archives[0], sha256: "xyz" }] },
                /has no valid sha256 for cvat_db.tar.zst/,
            ],
            [
                { ...good(), archives: [{ ...good().archives[0], bytes: "10" }] },
                /has no valid size for cvat_db.tar.zst/,
            ],
            [
                { ...good(), archives: [{ ...good().archives[0], compression: "gzip" }] },
                /has an unknown compression "gzip" for cvat_db.tar.zst/,
            ],
            [{ ...good(), archives: undefined }, /has no archives list/],
            // One parser for both readers (hooks/offsite/backup-index.ts): what list and pull refuse,
            // restore and verify refuse too.
            [{ ...good(), id: "../x" }, /manifest has an invalid id "..\/x"/],
            [{ ...good(), archives: [good().archives[0], good().archives[0]] }, /manifest lists cvat_db.tar.zst twice/],
        ];
        for (const [m, re] of cases) {
            write(m);
            assert.throws(
                () => readManifest(dir),
                (e: Error) => re.test(e.message) || assert.fail(`${e.message} does not match ${re}`),
            );
        }
    });

    it("archiveName: a volume keeps its name, a host path becomes one safe segment", () => {
        assert.strictEqual(archiveName("volume", "cvat_cvat_db"), "cvat_cvat_db");
        assert.strictEqual(archiveName("dir", "/opt/clearml/data/mongo/db/"), "opt_clearml_data_mongo_db");
        assert.strictEqual(archiveName("dir", "/srv/a b;c"), "srv_a_b_c");
        assert.strictEqual(archiveName("dir", "/"), "root");
    });

    it("parseManifest takes a whole manifest and refuses a hostile one, naming where it came from", () => {
        assert.strictEqual(parseManifest(JSON.stringify(good()), "s3://b/cvat/x").id, good().id);
        const cases: [unknown, RegExp][] = [
            ["[", /^s3:\/\/b\/k: manifest is not valid JSON/],
            [{ ...good(), id: "../x" }, /manifest has an invalid id "..\/x"/],
            [{ ...good(), product: "a/b" }, /manifest has an invalid product "a\/b"/],
            [{ ...good(), createdAt: "yesterday" }, /manifest has no valid createdAt/],
            [{ ...good(), archives: [good().archives[0], good().archives[0]] }, /manifest lists cvat_db.tar.zst twice/],
            [
                { ...good(), archives: [{ ...good().archives[0], file: "manifest.json" }] },
                /invalid archive file name "manifest.json"/,
            ],
            [{ ...good(), archives: [{ ...good().archives[0], bytes: -1 }] }, /has no valid size for cvat_db.tar.zst/],
        ];
        for (const [m, re] of cases) {
            assert.throws(
                () => parseManifest(typeof m === "string" ? m : JSON.stringify(m), "s3://b/k"),
                (e: Error) => re.test(e.message) || assert.fail(`${e.message} does not match ${re}`),
            );
        }
    });

    it("isSafeSegment: one path segment, never . or .., no slash", () => {
        for (const s of ["cvat", "2.2.0-to-2.3.0-a1-restore-point", "_opt_data", "a+b"])
            assert.strictEqual(isSafeSegment(s), true, s);
        for (const s of [".", "..", "a/b", "", ".hidden", "x".repeat(256), 3])
            assert.strictEqual(isSafeSegment(s), false, String(s));
    });

    it("sortNewestFirst: by product, then newest first, then by id (deterministic)", () => {
        const got = sortNewestFirst([
            { product: "kwdb", id: "a", createdAt: "2026-01-01T00:00:00Z" },
            { product: "cvat", id: "old", createdAt: "2026-01-01T00:00:00Z" },
            { product: "cvat", id: "new", createdAt: "2026-02-01T00:00:00Z" },
            { product: "cvat", id: "b", createdAt: "2026-01-01T00:00:00Z" },
        ]).map((x) => `${x.product}/${x.id}`);
        assert.deepStrictEqual(got, ["cvat/new", "cvat/old", "cvat/b", "kwdb/a"]);
    });
});
