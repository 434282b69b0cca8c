// What a rollback needs is checked before anything stops, and prune never deletes it (issue 12,
// findings 3 and 4), against real backups on disk and the real Docker engine: preflight refuses a
// damaged restore point or a deleted retained volume; prune keeps the deployed record's rollback
// targets, leaves a copied directory alone, and reports a damaged recent backup instead of deleting it.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { cleanupDocker, dockerSync, makeData, okJson, runPrefix, tmpDir, upshift } from "./hooks-util";

describe("hooks: preflight of a rollback and prune protect what a rollback needs (real Docker engine)", function () {
    const prefix = runPrefix("prn");
    const vol = `${prefix}-data`;
    let dir: string;
    const backup = (id: string, label = "restore-point") =>
        upshift([
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
            "--label",
            label,
        ]);
    const sums = () => {
        const out: Record<string, string> = {};
        for (const id of fs.readdirSync(path.join(dir, "cvat")).sort())
            out[id] = fs.readFileSync(path.join(dir, "cvat", id, "manifest.json"), "utf8");
        return out;
    };

    before(async function () {
        dir = tmpDir(prefix);
        dockerSync(["volume", "create", vol]);
        makeData(vol, 50, [2]);
        // Oldest first: createdAt orders them.
        for (const id of ["2.2.0-to-2.3.0-a1-restore-point", "b2", "b3", "b4", "b5"]) okJson(await backup(id));
    });

    after(function () {
        cleanupDocker(prefix);
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("preflight --backup passes on a whole restore point and refuses a damaged one, naming it", async function () {
        const good = path.join(dir, "cvat", "b5");
        okJson(await upshift(["preflight", "--backup", good]));
        const bad = path.join(dir, "cvat", "b4");
        const archive = fs.readdirSync(bad).find((f) => f.endsWith(".tar.zst"))!;
        const fd = fs.openSync(path.join(bad, archive), "r+");
        fs.writeSync(fd, Buffer.from("XXXX"), 0, 4, 100);
        fs.closeSync(fd);
        const r = await upshift(["preflight", "--backup", bad]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /restore point .*b4 is damaged: .* is corrupted \(sha256/);
        assert.match(r.stderr, /nothing was stopped or changed/);
    });

    it("preflight --retained-volume refuses a retained volume deleted by hand", async function () {
        okJson(await upshift(["preflight", "--retained-volume", vol]));
        const r = await upshift(["preflight", "--retained-volume", `${prefix}-deleted-by-hand`]);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /missing on the Docker host: retained volume .*-deleted-by-hand/);
    });

    it("prune --keep 2 --protect: the rollback target stays, a copy is left alone, the damaged recent one is reported, the rest goes", async function () {
        // b4 (bytes overwritten above) is also cut short: damage prune sees without hashing.
        const b4 = path.join(dir, "cvat", "b4");
        const arch = fs.readdirSync(b4).find((f) => f.endsWith(".tar.zst"))!;
        fs.truncateSync(path.join(b4, arch), fs.statSync(path.join(b4, arch)).size - 10);
        // A copy an operator made: its manifest names b2, its directory does not.
        fs.cpSync(path.join(dir, "cvat", "b2"), path.join(dir, "cvat", "copy-of-b2"), { recursive: true });
        const before = sums();
        const r = await upshift([
            "prune",
            "--keep",
            "2",
            "--backup-dir",
            dir,
            "--product",
            "cvat",
            "--protect",
            "2.2.0-to-2.3.0-a1-restore-point",
            "--json",
        ]);
        const j = okJson(r) as {
            local: {
                deleted: { id: string }[];
                kept: { id: string; reasons: string[] }[];
                untouched: { id: string }[];
                damaged: { id: string }[];
            };
        };
        // Kept: b5 and b3, the two newest good ones (the damaged b4 does not count toward N, and is kept too).
        assert.deepStrictEqual(j.local.deleted.map((x) => x.id).sort(), ["b2"]);
        assert.deepStrictEqual(
            j.local.untouched.map((x) => x.id),
            ["copy-of-b2"],
        );
        assert.deepStrictEqual(
            j.local.damaged.map((x) => x.id),
            ["b4"],
        );
        assert.deepStrictEqual(j.local.kept.find((k) => k.id === "2.2.0-to-2.3.0-a1-restore-point")!.reasons, [
            "a rollback target in the deployed record",
        ]);
        assert.match(r.stderr, /DAMAGED cvat\/b4/);
        const after = sums();
        assert.deepStrictEqual(Object.keys(after).sort(), [
            "2.2.0-to-2.3.0-a1-restore-point",
            "b3",
            "b4",
            "b5",
            "copy-of-b2",
        ]);
        for (const id of Object.keys(after)) assert.strictEqual(after[id], before[id], `${id} unchanged`);
    });

    it("prune --protect without --product needs PRODUCT/ID (exit 2)", async function () {
        const r = await upshift(["prune", "--keep", "2", "--backup-dir", dir, "--protect", "b5"]);
        assert.strictEqual(r.code, 2);
        assert.match(r.stderr, /--protect b5: give PRODUCT\/ID, or ID with --product/);
    });

    it("backups are the user's alone: directories 0700, archives and manifests 0600 (issue 12, finding 7)", async function () {
        const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
        // A product directory made earlier with a loose mode is tightened by the next backup.
        fs.chmodSync(path.join(dir, "cvat"), 0o755);
        okJson(await backup("modes"));
        assert.strictEqual(mode(path.join(dir, "cvat")), "700");
        const b = path.join(dir, "cvat", "modes");
        assert.strictEqual(mode(b), "700");
        for (const f of fs.readdirSync(b)) assert.strictEqual(mode(path.join(b, f)), "600", f);
        // Streamed through Docker (the host writes the file) as well as written by the helper.
        okJson(
            await upshift(
                [
                    "backup",
                    "--product",
                    "cvat",
                    "--version",
                    "2.2.0",
                    "--id",
                    "modes-stream",
                    "--to",
                    dir,
                    "--volume",
                    vol,
                ],
                { UPSHIFT_BACKUP_STREAM: "1" },
            ),
        );
        for (const f of fs.readdirSync(path.join(dir, "cvat", "modes-stream")))
            assert.strictEqual(mode(path.join(dir, "cvat", "modes-stream", f)), "600", f);
    });
});
