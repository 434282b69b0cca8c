import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readBackupArg } from "../../hooks/volumes/manifest";

describe("readBackupArg: a --backup is whole and its own (hooks/volumes/manifest.ts)", () => {
    let dir: string;
    const write = (where: string, id: string, version: string) => {
        fs.mkdirSync(path.join(dir, where), { recursive: true });
        fs.writeFileSync(path.join(dir, where, "v.tar.zst"), "0123456789");
        fs.writeFileSync(
            path.join(dir, where, "manifest.json"),
            JSON.stringify({
                format: "upshift-backup/1",
                id,
                product: where.split("/")[0],
                version,
                createdAt: "2026-12-01T00:00:00.000Z",
                archives: [
                    {
                        name: "v",
                        source: { type: "volume", name: "v" },
                        file: "v.tar.zst",
                        bytes: 10,
                        sourceBytes: 5,
                        files: 1,
                        sha256: "ab".repeat(32),
                    },
                ],
            }),
        );
        return path.join(dir, where);
    };
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "upshift-backuparg-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a restore or rollback point is taken at the version it starts from", () => {
        assert.strictEqual(
            readBackupArg(write("cvat/2.2.0-to-2.3.0-a1-restore-point", "2.2.0-to-2.3.0-a1-restore-point", "2.2.0"))
                .version,
            "2.2.0",
        );
        assert.throws(
            () =>
                readBackupArg(
                    write("cvat/2.3.0-to-2.2.0-a2-rollback-point", "2.3.0-to-2.2.0-a2-rollback-point", "2.2.0"),
                ),
            /is taken at 2\.3\.0, but its manifest says version 2\.2\.0/,
        );
    });
    it("a hop's backup of a multi-hop upgrade is taken at the version before that hop (ClearML 1.16.0 -> 2.3.0 via 1.17.1)", () => {
        const id = "1.16.0-to-2.3.0-a1-backup-before-2.0.0";
        assert.strictEqual(readBackupArg(write(`clearml/${id}`, id, "1.17.1")).version, "1.17.1");
    });
});
