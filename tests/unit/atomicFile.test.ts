// Publishing files durably (hooks/core/atomic-file.ts) and the hooks that publish with it: pull, kwdb-export
// and the state files (writeJsonAtomic). fs is watched in-process: every open, fsync and rename is
// recorded, so the order "data synced, renamed, directory synced" is what is asserted.
import * as assert from "assert";
import { createHash } from "crypto";
// The module object itself (not an import-star copy): what the hooks read through their getters is patched.
import fs = require("fs");
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { fsyncTree, publishDir, publishFile } from "../../hooks/core/atomic-file";
import { writeJsonAtomic } from "../../hooks/postgres/common";
import { runExport } from "../../hooks/kwdb/kwdb-export";
import { pullBackup, S3Target } from "../../hooks/offsite/s3";

type AnyFn = (...a: never[]) => unknown;

/** Records `fsync <path>` and `rename <from> <to>` in order, for the fs calls the hooks make. */
function watchFs() {
    const events: string[] = [];
    const fds = new Map<number, string>();
    const saved: [object, string, AnyFn][] = [];
    const patch = <T extends object>(obj: T, name: keyof T & string, wrap: (orig: AnyFn) => AnyFn) => {
        const orig = (obj as Record<string, AnyFn>)[name];
        saved.push([obj, name, orig]);
        (obj as Record<string, AnyFn>)[name] = wrap(orig.bind(obj) as AnyFn);
    };
    patch(
        fs,
        "openSync",
        (o) =>
            ((p: fs.PathLike, ...rest: never[]) => {
                const fd = (o as (...a: unknown[]) => number)(p, ...rest);
                fds.set(fd, path.resolve(String(p)));
                return fd;
            }) as AnyFn,
    );
    patch(
        fs,
        "fsyncSync",
        (o) =>
            ((fd: number) => {
                events.push(`fsync ${fds.get(fd)}`);
                return (o as (fd: number) => void)(fd);
            }) as AnyFn,
    );
    patch(
        fs,
        "renameSync",
        (o) =>
            ((a: string, b: string) => {
                events.push(`rename ${path.resolve(a)} ${path.resolve(b)}`);
                return (o as (a: string, b: string) => void)(a, b);
            }) as AnyFn,
    );
    patch(
        fs.promises,
        "rename",
        (o) =>
            (async (a: string, b: string) => {
                events.push(`rename ${path.resolve(a)} ${path.resolve(b)}`);
                return (o as (a: string, b: string) => Promise<void>)(a, b);
            }) as AnyFn,
    );
    return {
        events,
        restore() {
            for (const [obj, name, orig] of saved.reverse()) (obj as Record<string, AnyFn>)[name] = orig;
        },
    };
}

/** The events after the rename to `to`: the directory holding `to` must be synced there. */
function assertDirSyncedAfterRename(events: string[], to: string) {
    const i = events.findIndex((e) => e.startsWith("rename ") && e.endsWith(` ${to}`));
    assert.ok(i >= 0, `no rename to ${to}:\n${events.join("\n")}`);
    assert.ok(
        events.slice(i + 1).includes(`fsync ${path.dirname(to)}`),
        `${path.dirname(to)} not synced after the rename:\n${events.join("\n")}`,
    );
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "upshift-atomic-"));

describe("atomic publish (write, fsync, rename, fsync dir)", function () {
    this.timeout(60000);
    let w: ReturnType<typeof watchFs> | undefined;
    afterEach(() => {
        w?.restore();
        w = undefined;
    });

    it("publishFile: the data is synced before the rename, the directory after it; mode 0600; no temporary left", () => {
        const d = tmp();
        const f = path.join(d, "state.json");
        w = watchFs();
        publishFile(f, "{}\n");
        const ev = w.events;
        w.restore();
        assert.deepStrictEqual(ev, [`fsync ${f}.tmp`, `rename ${f}.tmp ${f}`, `fsync ${d}`]);
        assert.strictEqual(fs.readFileSync(f, "utf8"), "{}\n");
        assert.strictEqual(fs.statSync(f).mode & 0o777, 0o600);
        assert.deepStrictEqual(fs.readdirSync(d), ["state.json"]);
    });

    it("publishFile: ENOSPC while writing keeps the old file and leaves no temporary file filling the disk", () => {
        const d = tmp();
        const f = path.join(d, "state.json");
        fs.writeFileSync(f, "old\n");
        const orig = fs.writeFileSync;
        (fs as { writeFileSync: unknown }).writeFileSync = (...a: unknown[]) => {
            if (typeof a[0] === "number")
                throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
            return (orig as (...x: unknown[]) => void)(...a);
        };
        try {
            assert.throws(() => publishFile(f, "new\n"), /ENOSPC/);
        } finally {
            (fs as { writeFileSync: unknown }).writeFileSync = orig;
        }
        assert.strictEqual(fs.readFileSync(f, "utf8"), "old\n");
        assert.deepStrictEqual(fs.readdirSync(d), ["state.json"]);
    });

    it("publishDir: every file and directory in the tree is synced, then the rename, then the parent", () => {
        const d = tmp();
        const partial = path.join(d, "x.partial");
        fs.mkdirSync(path.join(partial, "sub"), { recursive: true });
        fs.writeFileSync(path.join(partial, "a"), "a");
        fs.writeFileSync(path.join(partial, "sub", "b"), "b");
        fs.symlinkSync("/etc/passwd", path.join(partial, "link"));
        w = watchFs();
        publishDir(partial, path.join(d, "x"));
        const ev = w.events;
        w.restore();
        const i = ev.indexOf(`rename ${partial} ${path.join(d, "x")}`);
        for (const p of ["a", "sub/b", "sub", ""])
            assert.ok(
                ev.slice(0, i).includes(`fsync ${path.join(partial, p)}`.replace(/\/$/, "")),
                `${p} not synced before the rename: ${ev.join(", ")}`,
            );
        assert.ok(!ev.some((e) => e.includes("link")), "a symlink is not followed");
        assertDirSyncedAfterRename(ev, path.join(d, "x"));
        fsyncTree(path.join(d, "x"));
    });

    it("the state files (writeJsonAtomic: pg-restore, pg-migrate, verify) sync their directory after the rename", () => {
        // Before core/atomic-file.ts, writeJsonAtomic synced the data and renamed, never the directory.
        const d = tmp();
        const f = path.join(d, "migrate-state.json");
        w = watchFs();
        writeJsonAtomic(f, { phase: "loaded" });
        const ev = w.events;
        w.restore();
        assertDirSyncedAfterRename(ev, f);
        assert.deepStrictEqual(JSON.parse(fs.readFileSync(f, "utf8")), { phase: "loaded" });
    });

    it("pull (stand-in S3 client: the real pullBackup) syncs the archives and the manifest before the rename and the backup dir after it", async () => {
        const archive = Buffer.from("zstd bytes of a volume");
        const sha256 = createHash("sha256").update(archive).digest("hex");
        const manifest = JSON.stringify({
            format: "upshift-backup/1",
            id: "2.2.0-to-2.3.0-a1",
            product: "cvat",
            version: "2.2.0",
            createdAt: "2026-12-01T00:00:00.000Z",
            archives: [
                {
                    name: "cvat_db",
                    source: { type: "volume", name: "cvat_db" },
                    file: "cvat_db.tar.zst",
                    bytes: archive.length,
                    sourceBytes: 99,
                    files: 3,
                    sha256,
                },
            ],
        });
        const objects: Record<string, Buffer> = {
            "b/cvat/2.2.0-to-2.3.0-a1/manifest.json": Buffer.from(manifest),
            "b/cvat/2.2.0-to-2.3.0-a1/cvat_db.tar.zst": archive,
        };
        const client = {
            async send(cmd: { input: { Key: string } }) {
                const body = objects[cmd.input.Key];
                if (!body)
                    throw Object.assign(new Error("NoSuchKey"), {
                        name: "NoSuchKey",
                        $metadata: { httpStatusCode: 404 },
                    });
                return {
                    Body: Object.assign(Readable.from([body]), {
                        transformToString: async () => body.toString("utf8"),
                    }),
                };
            },
        };
        const to = tmp();
        w = watchFs();
        const r = await pullBackup({
            target: { client, bucket: "bk" } as unknown as S3Target,
            keyPrefix: "b/cvat/2.2.0-to-2.3.0-a1",
            toDir: to,
            quiet: true,
        });
        const ev = w.events;
        w.restore();
        const dest = path.join(to, "cvat", "2.2.0-to-2.3.0-a1");
        assert.strictEqual(r.backup, dest);
        const i = ev.findIndex((e) => e.startsWith("rename ") && e.endsWith(` ${dest}`));
        for (const f of ["cvat_db.tar.zst", "manifest.json"])
            assert.ok(
                ev.slice(0, i).includes(`fsync ${dest}.partial/${f}`),
                `${f} not synced before the rename: ${ev.join(", ")}`,
            );
        assertDirSyncedAfterRename(ev, dest);
        assert.strictEqual(fs.readFileSync(path.join(dest, "cvat_db.tar.zst")).toString(), archive.toString());
    });

    it("kwdb-export (stand-in for KWDB: fake docker on PATH) syncs the copied export before the rename and the backup dir after it", async () => {
        const dir = tmp();
        const store = "/kaiwudb/deploy/kaiwudb-container";
        fs.mkdirSync(path.join(dir, "fs", "kaiwudb-container", store), { recursive: true });
        fs.writeFileSync(
            path.join(dir, "state.json"),
            JSON.stringify({
                containers: {
                    "kaiwudb-container": {
                        status: "running",
                        health: "healthy",
                        version: "2.2.2",
                        secure: false,
                        store,
                        dbs: { shop: { ts: false, tables: { "public.orders": 3 } } },
                        users: [],
                    },
                },
            }),
        );
        const env = {
            PATH: process.env.PATH,
            FAKE_KWDB: process.env.FAKE_KWDB,
            UPSHIFT_PROGRESS_MS: process.env.UPSHIFT_PROGRESS_MS,
        };
        process.env.PATH = `${path.join(__dirname, "fixtures", "kwdb", "fake-docker")}:${process.env.PATH}`;
        process.env.FAKE_KWDB = dir;
        process.env.UPSHIFT_PROGRESS_MS = "100000";
        const out = path.join(dir, "backups", "kwdb", "x-kwdb-export");
        w = watchFs();
        const write = process.stderr.write;
        process.stderr.write = (() => true) as typeof process.stderr.write; // the hook's progress lines
        try {
            await runExport({
                target: { container: "kaiwudb-container" },
                store,
                dir: "upshift-x",
                out,
                stopAfter: true,
                waitSeconds: 10,
            });
        } finally {
            process.stderr.write = write;
            for (const [k, v] of Object.entries(env))
                if (v === undefined) delete process.env[k];
                else process.env[k] = v;
        }
        const ev = w.events;
        w.restore();
        const i = ev.findIndex((e) => e.startsWith("rename ") && e.endsWith(` ${out}`));
        for (const f of ["export.json", "data/shop/meta.sql", "data/shop/public/orders/n1.0.csv"]) {
            assert.ok(
                ev.slice(0, i).includes(`fsync ${out}.partial/${f}`),
                `${f} not synced before the rename: ${ev.join(", ")}`,
            );
        }
        assertDirSyncedAfterRename(ev, out);
        assert.strictEqual(fs.statSync(path.join(out, "export.json")).mode & 0o777, 0o600);
    });
});
